// Helpers shared by the kernel files (not part of the module's interface).
#ifndef SWIFT_GPT_CKERNELS_INTERNAL_H
#define SWIFT_GPT_CKERNELS_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

/// The kernels' per-thread scratch buffers: packed B of gpt_sgemm, packed A of the bf16 products.
enum { gpt_thread_buffer_sgemm_b = 0, gpt_thread_buffer_bf16_a = 1, gpt_thread_buffer_count = 2 };

/// This thread's scratch buffer `which`, at least `bytes` long and 64-byte aligned (contents unspecified), kept
/// for the thread's next call and freed when the thread ends; NULL when memory runs out.
void *gpt_thread_buffer(int which, size_t bytes);

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define GPT_X86 1
#include <immintrin.h>
#define GPT_AVX2 __attribute__((target("avx2,fma,f16c")))
#define GPT_AVX512 __attribute__((target("avx512f,avx512bw,avx2,fma,f16c")))

GPT_AVX2 static inline float gpt_reduce_add_256(__m256 v) {
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
}

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
