// Exponentials for softmax rows (see CKernels.h): the Cephes polynomial for exp, vectorized.
#include <math.h>
#include "CKernels.h"
#include "Internal.h"

static float plain_exp_shifted(float *out, const float *input, ptrdiff_t count, float shift) {
    float sum = 0;
    for (ptrdiff_t j = 0; j < count; j++) {
        out[j] = expf(input[j] - shift);
        sum += out[j];
    }
    return sum;
}

#ifdef GPT_X86

GPT_AVX512 static float exp_shifted_avx512(float *out, const float *input, ptrdiff_t count, float shift) {
    __m512 sum = _mm512_setzero_ps(), s = _mm512_set1_ps(shift);
    ptrdiff_t j = 0;
    for (; j + 16 <= count; j += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(input + j), s));
        _mm512_storeu_ps(out + j, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (j < count) {
        __mmask16 tail = (__mmask16)((1u << (count - j)) - 1);
        __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, input + j), s));
        _mm512_mask_storeu_ps(out + j, tail, e);
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(tail, e));
    }
    return _mm512_reduce_add_ps(sum);
}

GPT_AVX2 static float exp_shifted_avx2(float *out, const float *input, ptrdiff_t count, float shift) {
    __m256 sum = _mm256_setzero_ps(), s = _mm256_set1_ps(shift);
    ptrdiff_t j = 0;
    for (; j + 8 <= count; j += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(input + j), s));
        _mm256_storeu_ps(out + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    float total = gpt_reduce_add_256(sum);
    for (; j < count; j++) {
        float e = expf(input[j] - shift);
        out[j] = e;
        total += e;
    }
    return total;
}

#endif

float gpt_exp_shifted(int level, float *out, const float *input, ptrdiff_t count, float shift) {
    GPT_DISPATCH(level, return exp_shifted_avx512(out, input, count, shift),
                 return exp_shifted_avx2(out, input, count, shift),
                 return plain_exp_shifted(out, input, count, shift));
}
