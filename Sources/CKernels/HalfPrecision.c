// Conversions between fp32 and IEEE half precision for the 16-bit KV cache (see CKernels.h).
#include "CKernels.h"
#include "Internal.h"
#include <math.h>

// The scalar conversions are plain C, so that quantisation and the cache are the same on every CPU; the vector ones
// (F16C) round and widen exactly as they do (every value but NaN payloads).

uint16_t gpt_f16_round(float x) {
    union { float f; uint32_t u; } value = { x };
    uint32_t sign = (value.u >> 16) & 0x8000, magnitude = value.u & 0x7FFFFFFF;
    if (magnitude > 0x7F800000) return (uint16_t)(sign | 0x7E00);  // NaN
    if (magnitude >= 0x477FF000) return (uint16_t)(sign | 0x7C00);  // rounds past 65504: infinity
    if (magnitude < 0x38800000) {  // below 2^-14: a subnormal half, in units of 2^-24 (ties to even)
        union { uint32_t u; float f; } exact = { magnitude };
        float units = exact.f * 16777216.0f;
        return (uint16_t)(sign | (uint32_t)nearbyintf(units));
    }
    uint32_t rounded = magnitude + 0xFFF + ((magnitude >> 13) & 1);  // ties to even on the 13 dropped bits
    return (uint16_t)(sign | ((rounded - 0x38000000) >> 13));
}

float gpt_f16_to_f32(uint16_t bits) {
    uint32_t sign = (uint32_t)(bits & 0x8000) << 16, exponent = (bits >> 10) & 0x1F, mantissa = bits & 0x3FF;
    union { uint32_t u; float f; } value;
    if (exponent == 0) {  // zero or subnormal
        float magnitude = (float)mantissa * (1.0f / 16777216.0f);
        return sign ? -magnitude : magnitude;
    }
    value.u = sign | (exponent == 31 ? 0x7F800000 | (mantissa << 13) : ((exponent + 112) << 23) | (mantissa << 13));
    return value.f;
}

static void plain_round(uint16_t *out, const float *input, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) out[i] = gpt_f16_round(input[i]);
}

static void plain_widen(float *out, const uint16_t *input, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) out[i] = gpt_f16_to_f32(input[i]);
}

#ifdef GPT_X86

GPT_AVX512 static void round_avx512(uint16_t *out, const float *input, ptrdiff_t count) {
    ptrdiff_t i = 0;
    for (; i + 16 <= count; i += 16)
        _mm256_storeu_si256((__m256i *)(out + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(input + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    plain_round(out + i, input + i, count - i);
}

GPT_AVX2 static void round_avx2(uint16_t *out, const float *input, ptrdiff_t count) {
    ptrdiff_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm_storeu_si128((__m128i *)(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(input + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    plain_round(out + i, input + i, count - i);
}

GPT_AVX512 static void widen_avx512(float *out, const uint16_t *input, ptrdiff_t count) {
    ptrdiff_t i = 0;
    for (; i + 16 <= count; i += 16)
        _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(input + i))));
    plain_widen(out + i, input + i, count - i);
}

GPT_AVX2 static void widen_avx2(float *out, const uint16_t *input, ptrdiff_t count) {
    ptrdiff_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(input + i))));
    plain_widen(out + i, input + i, count - i);
}

#endif

void gpt_round_to_f16(int level, uint16_t *out, const float *input, ptrdiff_t count) {
    GPT_DISPATCH(level, round_avx512(out, input, count), round_avx2(out, input, count),
                 plain_round(out, input, count));
}

void gpt_widen_f16(int level, float *out, const uint16_t *input, ptrdiff_t count) {
    GPT_DISPATCH(level, widen_avx512(out, input, count), widen_avx2(out, input, count),
                 plain_widen(out, input, count));
}
