// Exponentials for softmax rows and the tanh-form GELU (see CKernels.h): the Cephes polynomial for exp, vectorized.
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

/// gelu_tanh(v) = 0.5 v (1 + tanh(u)) = v / (1 + exp(-2u)), u = sqrt(2/pi) (v + 0.044715 v^3): the second form needs
/// one exponential and no cancellation; exp's argument is capped at 88 (the result there is v / e^88, about 0).
static void plain_gelu_tanh(float *out, const float *input, ptrdiff_t count) {
    for (ptrdiff_t j = 0; j < count; j++) {
        float v = input[j], u = 0.79788456f * (v + 0.044715f * v * v * v);
        out[j] = v / (1.0f + expf(fminf(-2.0f * u, 88.0f)));
    }
}

#ifdef GPT_X86

GPT_AVX512 static inline __m512 gelu_tanh512(__m512 v) {
    __m512 cube = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
    __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.79788456f), _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), cube, v));
    __m512 e = exp512(_mm512_min_ps(_mm512_mul_ps(_mm512_set1_ps(-2.0f), u), _mm512_set1_ps(88.0f)));
    return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

GPT_AVX512 static void gelu_tanh_avx512(float *out, const float *input, ptrdiff_t count) {
    ptrdiff_t j = 0;
    for (; j + 16 <= count; j += 16) _mm512_storeu_ps(out + j, gelu_tanh512(_mm512_loadu_ps(input + j)));
    if (j < count) {
        __mmask16 tail = (__mmask16)((1u << (count - j)) - 1);
        _mm512_mask_storeu_ps(out + j, tail, gelu_tanh512(_mm512_maskz_loadu_ps(tail, input + j)));
    }
}

GPT_AVX2 static void gelu_tanh_avx2(float *out, const float *input, ptrdiff_t count) {
    ptrdiff_t j = 0;
    for (; j + 8 <= count; j += 8) {
        __m256 v = _mm256_loadu_ps(input + j), cube = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
        __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.79788456f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), cube, v));
        __m256 e = exp256(_mm256_min_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), u), _mm256_set1_ps(88.0f)));
        _mm256_storeu_ps(out + j, _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
    }
    plain_gelu_tanh(out + j, input + j, count - j);
}

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

void gpt_gelu_tanh(int level, float *out, const float *input, ptrdiff_t count) {
    GPT_DISPATCH(level, gelu_tanh_avx512(out, input, count), gelu_tanh_avx2(out, input, count),
                 plain_gelu_tanh(out, input, count));
}
