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

/// exp(x) = 2^n * exp(r) with n = round(x / ln 2) and r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split in two
/// constants so that r keeps its low bits), exp(r) from Cephes' polynomial; below -87.3 the result is 0.
#define GPT_DEFINE_EXP(name, attributes, vector, ivector, set1, mul, add, fmadd, maxv, roundv, cvt, addi, slli,  \
                       cast, zero_below)                                                                          \
    attributes static inline vector name(vector x) {                                                                \
        vector clamped = maxv(x, set1(-87.3f));                                                                     \
        vector n = roundv(mul(clamped, set1(1.44269504088896341f)));                                               \
        vector r = fmadd(n, set1(-0.693359375f), clamped);                                                         \
        r = fmadd(n, set1(2.12194440e-4f), r);                                                                     \
        vector p = set1(1.9875691500e-4f);                                                                          \
        p = fmadd(p, r, set1(1.3981999507e-3f));                                                                    \
        p = fmadd(p, r, set1(8.3334519073e-3f));                                                                    \
        p = fmadd(p, r, set1(4.1665795894e-2f));                                                                    \
        p = fmadd(p, r, set1(1.6666665459e-1f));                                                                    \
        p = fmadd(p, r, set1(5.0000001201e-1f));                                                                    \
        vector y = add(fmadd(p, mul(r, r), r), set1(1.0f));                                                        \
        ivector exponent = slli(addi(cvt(n), set1_epi32_##name(127)), 23);                                          \
        return zero_below(x, mul(y, cast(exponent)));                                                               \
    }

#define set1_epi32_exp512(v) _mm512_set1_epi32(v)
#define set1_epi32_exp256(v) _mm256_set1_epi32(v)
#define round512(v) _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define round256(v) _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define zero_below512(x, v) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_GE_OQ), v)
#define zero_below256(x, v) _mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_GE_OQ), v)

GPT_DEFINE_EXP(exp512, GPT_AVX512, __m512, __m512i, _mm512_set1_ps, _mm512_mul_ps, _mm512_add_ps, _mm512_fmadd_ps,
               _mm512_max_ps, round512, _mm512_cvtps_epi32, _mm512_add_epi32, _mm512_slli_epi32,
               _mm512_castsi512_ps, zero_below512)
GPT_DEFINE_EXP(exp256, GPT_AVX2, __m256, __m256i, _mm256_set1_ps, _mm256_mul_ps, _mm256_add_ps, _mm256_fmadd_ps,
               _mm256_max_ps, round256, _mm256_cvtps_epi32, _mm256_add_epi32, _mm256_slli_epi32,
               _mm256_castsi256_ps, zero_below256)

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
