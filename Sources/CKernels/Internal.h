// Helpers shared by the kernel files (not part of the module's interface).
#ifndef SWIFT_GPT_CKERNELS_INTERNAL_H
#define SWIFT_GPT_CKERNELS_INTERNAL_H
#include <stdint.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define GPT_X86 1
#include <immintrin.h>
#define GPT_AVX2 __attribute__((target("avx2,fma")))
#define GPT_AVX512 __attribute__((target("avx512f,avx512bw,avx2,fma")))

GPT_AVX2 static inline float gpt_reduce_add_256(__m256 v) {
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
}
#endif

/// Fully unrolls the loop that follows (its bounds are constants): the package's C is built at -O2, which leaves
/// nested loops over register tiles rolled, with the accumulators in memory.
#if defined(__clang__)
#define GPT_UNROLL _Pragma("unroll")
#else
#define GPT_UNROLL _Pragma("GCC unroll 32")
#endif

/// Runs `wide` (an AVX-512 call) at level 3, `narrow` (AVX2) at level 2 and `plain` otherwise, with `level` capped
/// at what this machine supports; only `plain` exists off x86-64.
#ifdef GPT_X86
#define GPT_DISPATCH(level, wide, narrow, plain)                                                                 \
    do {                                                                                                         \
        int capped_ = (level) > gpt_simd_level() ? gpt_simd_level() : (level);                                   \
        if (capped_ >= 3) { wide; } else if (capped_ >= 2) { narrow; } else { plain; }                          \
    } while (0)
#else
#define GPT_DISPATCH(level, wide, narrow, plain) do { (void)(level); plain; } while (0)
#endif

/// The fp32 value of a bfloat16 bit pattern.
static inline float gpt_bf16_to_f32(uint16_t bits) {
    union { uint32_t u; float f; } value = { (uint32_t)bits << 16 };
    return value.f;
}

#endif
