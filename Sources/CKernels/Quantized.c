// 8-bit weights in llama.cpp's Q8_0 blocks (see CKernels.h): quantisation, and the products of Q8_0 rows by Q8_0
// rows (activations quantised per block the same way), summed in int32 per block and scaled in fp32.
#include "CKernels.h"
#include "Internal.h"
#include <math.h>
#include <string.h>

// MARK: - Quantisation

/// One block of up to 32 values (`count`) as llama.cpp's quantize_row_q8_0_ref: d = max|x| / 127, q = roundf(x / d)
/// (0 where d is 0), zeros past `count`; returns d. `offset` is added to each q as stored (128 for weights).
static float quantize_block(uint8_t *out, const float *x, ptrdiff_t count, int offset, int32_t *sum) {
    float amax = 0;
    for (ptrdiff_t c = 0; c < count; c++) amax = fmaxf(amax, fabsf(x[c]));
    float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    int32_t total = 0;
    for (ptrdiff_t c = 0; c < 32; c++) {
        int q = c < count ? (int)roundf(x[c] * id) : 0;
        total += q;
        out[c] = (uint8_t)(q + offset);
    }
    if (sum) *sum = total;
    return d;
}

void gpt_q8_quantize_weights(uint8_t *quants, uint16_t *scales, const float *source, ptrdiff_t row_begin,
                             ptrdiff_t row_end, ptrdiff_t columns) {
    ptrdiff_t blocks = (columns + 31) / 32;
    for (ptrdiff_t r = row_begin; r < row_end; r++) {
        for (ptrdiff_t b = 0; b < blocks; b++) {
            ptrdiff_t count = columns - 32 * b < 32 ? columns - 32 * b : 32;
            float d = quantize_block(quants + (r * blocks + b) * 32, source + r * columns + 32 * b, count, 128, 0);
            scales[r * blocks + b] = gpt_f16_round(d);
        }
    }
}

void gpt_q8_quantize_activations(int8_t *quants, float *scales, float *sums, const float *source, ptrdiff_t rows,
                                 ptrdiff_t columns) {
    ptrdiff_t blocks = (columns + 31) / 32;
    for (ptrdiff_t r = 0; r < rows; r++) {
        for (ptrdiff_t b = 0; b < blocks; b++) {
            ptrdiff_t count = columns - 32 * b < 32 ? columns - 32 * b : 32;
            int32_t sum;
            scales[r * blocks + b] = quantize_block((uint8_t *)quants + (r * blocks + b) * 32,
                                                    source + r * columns + 32 * b, count, 0, &sum);
            sums[r * blocks + b] = 128.0f * (float)sum;
        }
    }
}

void gpt_q8_dequantize_rows(float *out, const uint8_t *quants, const uint16_t *scales, ptrdiff_t row_begin,
                            ptrdiff_t row_end, ptrdiff_t columns) {
    ptrdiff_t blocks = (columns + 31) / 32;
    for (ptrdiff_t r = row_begin; r < row_end; r++) {
        for (ptrdiff_t b = 0; b < blocks; b++) {
            float d = gpt_f16_to_f32(scales[r * blocks + b]);
            ptrdiff_t end = 32 * b + 32 < columns ? 32 * b + 32 : columns;
            for (ptrdiff_t c = 32 * b; c < end; c++) out[r * columns + c] = d * (float)((int)quants[r * blocks * 32 + c] - 128);
        }
    }
}

// MARK: - Products

/// Blocks whose weight scales are widened at a time.
enum { GPT_Q8_SCALE_CHUNK = 256 };

static void plain_q8(float *c, ptrdiff_t ldc, const int8_t *aq, const float *as, const float *sums, ptrdiff_t m,
                     const uint8_t *wq, const uint16_t *wd, ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t blocks,
                     int accumulate) {
    (void)sums;
    for (ptrdiff_t r = row_begin; r < row_end; r++) {
        for (ptrdiff_t i = 0; i < m; i++) {
            float total = 0;
            for (ptrdiff_t b = 0; b < blocks; b++) {
                const uint8_t *w = wq + (r * blocks + b) * 32;
                const int8_t *x = aq + (i * blocks + b) * 32;
                int32_t dot = 0;
                for (int j = 0; j < 32; j++) dot += ((int32_t)w[j] - 128) * (int32_t)x[j];
                total += gpt_f16_to_f32(wd[r * blocks + b]) * as[i * blocks + b] * (float)dot;
            }
            c[i * ldc + r] = accumulate ? c[i * ldc + r] + total : total;
        }
    }
}

#ifdef GPT_X86
#include <cpuid.h>

#define GPT_Q8_AVX2 __attribute__((target("avx2,fma,f16c")))
#define GPT_Q8_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

/// Whether this CPU has AVX512-VNNI (`vpdpbusd`) beside the AVX-512 of gpt_simd_level() 3.
static int has_vnni(void) {
    static int seen = -1;
    int value = __atomic_load_n(&seen, __ATOMIC_RELAXED);
    if (value < 0) {
        unsigned a, b, c, d;
        value = gpt_simd_level() >= 3 && __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((c >> 11) & 1);
        __atomic_store_n(&seen, value, __ATOMIC_RELAXED);
    }
    return value;
}

/// Whether decoding reads four weight rows at a time (vnni_q8_rows4): on Intel, whose prefetchers follow its four
/// interleaved streams; not on AMD, where they do not and the one-row loop streams twice as fast (SmolLM2-135M's
/// shape on a Zen 4 EPYC, 1 thread: 126 against 60 tokens/s; 2 threads: 136 against 102).
static int interleaves_rows(void) {
    static int seen = -1;
    int value = __atomic_load_n(&seen, __ATOMIC_RELAXED);
    if (value < 0) {
        unsigned a, b, c, d;
        value = !(__get_cpuid(0, &a, &b, &c, &d) && b == 0x68747541u && d == 0x69746E65u && c == 0x444D4163u);
        __atomic_store_n(&seen, value, __ATOMIC_RELAXED);
    }
    return value;
}

/// Up to 4 activation rows against one weight row, two blocks (64 bytes) per `vpdpbusd`: the weights are stored
/// plus 128 (unsigned), so `vpdpbusd` sums (w + 128) x, and 128 x the block's sum of x (``sums``) comes off in
/// fp32 once per block, in the same pass that makes each row's combined scales (weight scale times activation
/// scale): a pair of blocks then costs a load of each operand, the product, a permute of two scales and an FMA.
GPT_Q8_VNNI static void vnni_q8(float *c, ptrdiff_t ldc, const int8_t *aq, const float *as, const float *sums,
                                ptrdiff_t m, const uint8_t *wq, const uint16_t *wd, ptrdiff_t row_begin,
                                ptrdiff_t row_end, ptrdiff_t blocks, int accumulate) {
    float combined[4][GPT_Q8_SCALE_CHUNK + 16];
    const __m512i zero = _mm512_setzero_si512();
    const __m512i spread = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    for (ptrdiff_t r = row_begin; r < row_end; r++) {
        for (ptrdiff_t i0 = 0; i0 < m; i0 += 4) {
            int rows = m - i0 < 4 ? (int)(m - i0) : 4;
            __m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
            for (ptrdiff_t chunk = 0; chunk < blocks; chunk += GPT_Q8_SCALE_CHUNK) {
                ptrdiff_t end = chunk + GPT_Q8_SCALE_CHUNK < blocks ? chunk + GPT_Q8_SCALE_CHUNK : blocks;
                ptrdiff_t count = end - chunk, paired = count - count % 2;
                for (ptrdiff_t j = 0; j < count; j += 16) {
                    __mmask16 lanes = count - j >= 16 ? 0xFFFF : (__mmask16)((1u << (count - j)) - 1);
                    __m512 ws = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, wd + r * blocks + chunk + j));
                    for (int t = 0; t < rows; t++) {
                        ptrdiff_t at = (i0 + t) * blocks + chunk + j;
                        __m512 scale = _mm512_mul_ps(ws, _mm512_maskz_loadu_ps(lanes, as + at));
                        _mm512_storeu_ps(combined[t] + j, scale);
                        acc[t] = _mm512_fnmadd_ps(scale, _mm512_maskz_loadu_ps(lanes, sums + at), acc[t]);
                    }
                }
                const uint8_t *wrow = wq + (r * blocks + chunk) * 32;
                ptrdiff_t j = 0;
                if (rows == 1) {  // decoding: four pairs a step into independent sums
                    const int8_t *xrow = aq + (i0 * blocks + chunk) * 32;
                    __m512 more[3] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
                    for (; j + 8 <= paired; j += 8) {
#define GPT_Q8_PAIR(u, target)                                                                                    \
    do {                                                                                                          \
        __m512i dot = _mm512_dpbusd_epi32(zero, _mm512_loadu_si512(wrow + (j + 2 * u) * 32),                      \
                                          _mm512_loadu_si512(xrow + (j + 2 * u) * 32));                           \
        __m128 two = _mm_castpd_ps(_mm_load_sd((const double *)(combined[0] + j + 2 * u)));                      \
        target = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(two)), \
                                 target);                                                                         \
    } while (0)
                        GPT_Q8_PAIR(0, acc[0]);
                        GPT_Q8_PAIR(1, more[0]);
                        GPT_Q8_PAIR(2, more[1]);
                        GPT_Q8_PAIR(3, more[2]);
#undef GPT_Q8_PAIR
                    }
                    acc[0] = _mm512_add_ps(_mm512_add_ps(acc[0], more[0]), _mm512_add_ps(more[1], more[2]));
                }
                for (; j < count; j += 2) {
                    __mmask64 bytes = j < paired ? ~(__mmask64)0 : 0xFFFFFFFFull;
                    __m512i w = j < paired ? _mm512_loadu_si512(wrow + j * 32)
                                           : _mm512_maskz_loadu_epi8(bytes, wrow + j * 32);
                    for (int t = 0; t < rows; t++) {
                        const int8_t *xrow = aq + ((i0 + t) * blocks + chunk + j) * 32;
                        __m512i x = j < paired ? _mm512_loadu_si512(xrow) : _mm512_maskz_loadu_epi8(bytes, xrow);
                        __m512i dot = _mm512_dpbusd_epi32(zero, w, x);
                        __m128 two = _mm_castpd_ps(_mm_load_sd((const double *)(combined[t] + j)));
                        __m512 scale = _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(two));
                        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[t]);
                    }
                }
            }
            for (int t = 0; t < rows; t++) {
                float total = _mm512_reduce_add_ps(acc[t]);
                float *out = c + (i0 + t) * ldc + r;
                *out = accumulate ? *out + total : total;
            }
        }
    }
}

/// One decoding step's product (a single activation row) four weight rows at a time: the four rows share each
/// load of the activations and the pass over the scales, and keep four streams of weights in flight with a
/// prefetch sixteen rows ahead (a third faster streaming from memory than without, measured on a Xeon; 1.5-2x
/// the one-row loop of vnni_q8 in all). Per pair of blocks and row: a `vpdpbusd`, a permute of two combined
/// scales, an FMA.
GPT_Q8_VNNI static void vnni_q8_rows4(float *c, const int8_t *aq, const float *as, const float *sums,
                                      const uint8_t *wq, const uint16_t *wd, ptrdiff_t r0, ptrdiff_t blocks,
                                      int accumulate) {
    float combined[4][16];
    const __m512i zero = _mm512_setzero_si512();
    const __m512i spread = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const uint8_t *w = wq + r0 * blocks * 32;
    const ptrdiff_t stride = blocks * 32, ahead = 16 * stride;
    __m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
    for (ptrdiff_t chunk = 0; chunk < blocks; chunk += 16) {
        ptrdiff_t count = blocks - chunk < 16 ? blocks - chunk : 16, paired = count - count % 2;
        __mmask16 lanes = count == 16 ? 0xFFFF : (__mmask16)((1u << count) - 1);
        __m512 xs = _mm512_maskz_loadu_ps(lanes, as + chunk), xsum = _mm512_maskz_loadu_ps(lanes, sums + chunk);
        GPT_UNROLL for (int t = 0; t < 4; t++) {
            __m512 scale = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, wd + (r0 + t) * blocks + chunk)), xs);
            _mm512_storeu_ps(combined[t], scale);
            acc[t] = _mm512_fnmadd_ps(scale, xsum, acc[t]);
        }
        const int8_t *x = aq + chunk * 32;
        const uint8_t *wc = w + chunk * 32;
        for (ptrdiff_t j = 0; j < count; j += 2) {
            __mmask64 bytes = j < paired ? ~(__mmask64)0 : 0xFFFFFFFFull;
            __m512i xv = _mm512_maskz_loadu_epi8(bytes, x + j * 32);
            GPT_UNROLL for (int t = 0; t < 4; t++) {
                const uint8_t *at = wc + t * stride + j * 32;
                _mm_prefetch((const char *)(at + ahead), _MM_HINT_T0);
                __m512i dot = _mm512_dpbusd_epi32(zero, _mm512_maskz_loadu_epi8(bytes, at), xv);
                __m128 two = _mm_castpd_ps(_mm_load_sd((const double *)(combined[t] + j)));
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot),
                                         _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(two)), acc[t]);
            }
        }
    }
    GPT_UNROLL for (int t = 0; t < 4; t++) {
        float total = _mm512_reduce_add_ps(acc[t]);
        c[r0 + t] = accumulate ? c[r0 + t] + total : total;
    }
}

/// The same with AVX2: the weights back to signed (xor 128), then `vpmaddubsw` (|w| times x with w's sign, pairs
/// summed in int16: at most 2 x 127 x 127, no saturation) and `vpmaddwd` by ones, one block per step.
GPT_Q8_AVX2 static void avx2_q8(float *c, ptrdiff_t ldc, const int8_t *aq, const float *as, const float *sums,
                                ptrdiff_t m, const uint8_t *wq, const uint16_t *wd, ptrdiff_t row_begin,
                                ptrdiff_t row_end, ptrdiff_t blocks, int accumulate) {
    (void)sums;
    const __m256i ones = _mm256_set1_epi16(1), bias = _mm256_set1_epi8((char)0x80);
    for (ptrdiff_t r = row_begin; r < row_end; r++) {
        for (ptrdiff_t i0 = 0; i0 < m; i0 += 4) {
            int rows = m - i0 < 4 ? (int)(m - i0) : 4;
            __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
            for (ptrdiff_t b = 0; b < blocks; b++) {
                __m256i w = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(wq + (r * blocks + b) * 32)), bias);
                __m256i magnitude = _mm256_sign_epi8(w, w);
                float ws = _cvtsh_ss(wd[r * blocks + b]);
                for (int t = 0; t < rows; t++) {
                    ptrdiff_t i = i0 + t;
                    __m256i x = _mm256_loadu_si256((const __m256i *)(aq + (i * blocks + b) * 32));
                    __m256i pairs = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(x, w));
                    __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
                    acc[t] = _mm256_fmadd_ps(dot, _mm256_set1_ps(ws * as[i * blocks + b]), acc[t]);
                }
            }
            for (int t = 0; t < rows; t++) {
                float total = gpt_reduce_add_256(acc[t]);
                float *out = c + (i0 + t) * ldc + r;
                *out = accumulate ? *out + total : total;
            }
        }
    }
}

int gpt_q8_kernel(int level) {
    int capped = level > gpt_simd_level() ? gpt_simd_level() : level;
    if (capped >= 3 && has_vnni()) return 3;
    return capped >= 2 ? 2 : 0;
}

#else

int gpt_q8_kernel(int level) { (void)level; return 0; }

#endif

void gpt_q8_gemm(int level, float *c, ptrdiff_t ldc, const int8_t *aq, const float *as, const float *sums,
                 ptrdiff_t m, const uint8_t *wq, const uint16_t *wd, ptrdiff_t row_begin, ptrdiff_t row_end,
                 ptrdiff_t blocks, int accumulate) {
#ifdef GPT_X86
    switch (gpt_q8_kernel(level)) {
    case 3:
        if (m == 1 && interleaves_rows()) {  // decoding: groups of four rows, the rest one at a time
            for (; row_begin + 4 <= row_end; row_begin += 4) vnni_q8_rows4(c, aq, as, sums, wq, wd, row_begin, blocks, accumulate);
        }
        vnni_q8(c, ldc, aq, as, sums, m, wq, wd, row_begin, row_end, blocks, accumulate);
        return;
    case 2: avx2_q8(c, ldc, aq, as, sums, m, wq, wd, row_begin, row_end, blocks, accumulate); return;
    default: break;
    }
#endif
    plain_q8(c, ldc, aq, as, sums, m, wq, wd, row_begin, row_end, blocks, accumulate);
}
