// Attention of one decoded query over the KV cache (see CKernels.h).
#include <math.h>
#include "CKernels.h"
#include "Internal.h"

/// Softmax of `row[0..<length]` in place (max subtracted first).
static void softmax_in_place(float *row, ptrdiff_t length) {
    float top = row[0], sum = 0;
    for (ptrdiff_t j = 1; j < length; j++) top = row[j] > top ? row[j] : top;
    for (ptrdiff_t j = 0; j < length; j++) {
        row[j] = expf(row[j] - top);
        sum += row[j];
    }
    float inverse = 1 / sum;
    for (ptrdiff_t j = 0; j < length; j++) row[j] *= inverse;
}

static void plain_attend(float *out, float *scores, const float *query, const float *keys, const float *values,
                         ptrdiff_t length, ptrdiff_t head_begin, ptrdiff_t head_end, ptrdiff_t d, ptrdiff_t width,
                         float scale) {
    for (ptrdiff_t h = head_begin; h < head_end; h++) {
        float *row = scores + h * length, *y = out + h * d;
        const float *q = query + h * d;
        for (ptrdiff_t j = 0; j < length; j++) {
            float dot = 0;
            for (ptrdiff_t e = 0; e < d; e++) dot += q[e] * keys[j * width + h * d + e];
            row[j] = dot * scale;
        }
        softmax_in_place(row, length);
        for (ptrdiff_t e = 0; e < d; e++) y[e] = 0;
        for (ptrdiff_t j = 0; j < length; j++)
            for (ptrdiff_t e = 0; e < d; e++) y[e] += row[j] * values[j * width + h * d + e];
    }
}

#ifdef GPT_X86

/// The four sums of a, b, c and d's lanes, in that order.
GPT_AVX2 static inline __m128 reduce4_256(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

GPT_AVX512 static inline __m256 half_sum512(__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

GPT_AVX512 static inline __m128 reduce4_512(__m512 a, __m512 b, __m512 c, __m512 d) {
    return reduce4_256(half_sum512(a), half_sum512(b), half_sum512(c), half_sum512(d));
}

/// Defines `name` for head sizes up to 128 that are a multiple of `WIDTH` (the vector's lanes): a head's scaled
/// query and its output row stay in registers while the keys (four at a time, their four sums reduced together),
/// then the values, stream past; the softmax's exponentials are the vector ones of gpt_exp_shifted.
#define GPT_DEFINE_ATTEND(name, attributes, level, vector, WIDTH, zero, set1, mul, fmadd, load, store, reduce,  \
                          reduce4)                                                                               \
    attributes static void name(float *out, float *scores, const float *query, const float *keys,              \
                                const float *values, ptrdiff_t length, ptrdiff_t head_begin, ptrdiff_t head_end,   \
                                ptrdiff_t d, ptrdiff_t width, float scale) {                                       \
        ptrdiff_t blocks = d / WIDTH;                                                                            \
        for (ptrdiff_t h = head_begin; h < head_end; h++) {                                                      \
            float *row = scores + h * length;                                                                    \
            vector q[128 / WIDTH], y[128 / WIDTH];                                                               \
            for (ptrdiff_t b = 0; b < blocks; b++) {                                                             \
                q[b] = mul(load(query + h * d + WIDTH * b), set1(scale));                                        \
                y[b] = zero();                                                                                   \
            }                                                                                                    \
            ptrdiff_t j = 0;                                                                                     \
            for (; j + 4 <= length; j += 4) {                                                                    \
                const float *k = keys + j * width + h * d;                                                       \
                vector dots[4];                                                                                  \
                GPT_UNROLL for (int t = 0; t < 4; t++) dots[t] = mul(q[0], load(k + t * width));                 \
                for (ptrdiff_t b = 1; b < blocks; b++)                                                           \
                    GPT_UNROLL for (int t = 0; t < 4; t++) dots[t] = fmadd(q[b], load(k + t * width + WIDTH * b), dots[t]); \
                _mm_storeu_ps(row + j, reduce4(dots[0], dots[1], dots[2], dots[3]));                             \
            }                                                                                                    \
            for (; j < length; j++) {                                                                            \
                const float *k = keys + j * width + h * d;                                                       \
                vector dot = mul(q[0], load(k));                                                                 \
                for (ptrdiff_t b = 1; b < blocks; b++) dot = fmadd(q[b], load(k + WIDTH * b), dot);              \
                row[j] = reduce(dot);                                                                            \
            }                                                                                                    \
            float top = row[0];                                                                                  \
            for (ptrdiff_t t = 1; t < length; t++) top = row[t] > top ? row[t] : top;                            \
            float inverse = 1 / gpt_exp_shifted(level, row, row, length, top);                                   \
            for (ptrdiff_t t = 0; t < length; t++) row[t] *= inverse;                                            \
            for (ptrdiff_t j = 0; j < length; j++) {                                                             \
                const float *v = values + j * width + h * d;                                                     \
                vector p = set1(row[j]);                                                                         \
                for (ptrdiff_t b = 0; b < blocks; b++) y[b] = fmadd(p, load(v + WIDTH * b), y[b]);               \
            }                                                                                                    \
            for (ptrdiff_t b = 0; b < blocks; b++) store(out + h * d + WIDTH * b, y[b]);                         \
        }                                                                                                        \
    }

GPT_DEFINE_ATTEND(attend_avx512, GPT_AVX512, 3, __m512, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_mul_ps,
                  _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_reduce_add_ps, reduce4_512)
GPT_DEFINE_ATTEND(attend_avx2, GPT_AVX2, 2, __m256, 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_mul_ps,
                  _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_storeu_ps, gpt_reduce_add_256, reduce4_256)

#endif

void gpt_attend_one_query(int level, float *out, float *scores, const float *query, const float *keys,
                          const float *values, ptrdiff_t length, ptrdiff_t head_begin, ptrdiff_t head_end,
                          ptrdiff_t head_size, ptrdiff_t width, float scale) {
    if (level > gpt_simd_level()) level = gpt_simd_level();
#ifdef GPT_X86
    if (level >= 3 && head_size % 16 == 0 && head_size <= 128)
        attend_avx512(out, scores, query, keys, values, length, head_begin, head_end, head_size, width, scale);
    else if (level >= 2 && head_size % 8 == 0 && head_size <= 128)
        attend_avx2(out, scores, query, keys, values, length, head_begin, head_end, head_size, width, scale);
    else
#endif
        plain_attend(out, scores, query, keys, values, length, head_begin, head_end, head_size, width, scale);
}
