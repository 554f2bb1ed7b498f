// Attention of one decoded query over the KV cache, in fp32 or fp16 (see CKernels.h).
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

/// Defines `name` for keys and values of `type`, read one at a time as fp32 through `widen`.
#define GPT_DEFINE_PLAIN_ATTEND(name, type, widen)                                                               \
    static void name(float *out, float *scores, const float *query, const type *keys, const type *values,       \
                     ptrdiff_t length, ptrdiff_t head_begin, ptrdiff_t head_end, ptrdiff_t d, ptrdiff_t width,     \
                     float scale, ptrdiff_t group) {                                                             \
        for (ptrdiff_t h = head_begin; h < head_end; h++) {                                                      \
            float *row = scores + h * length, *y = out + h * d;                                                  \
            const float *q = query + h * d;                                                                      \
            ptrdiff_t kv = h / group * d;                                                                        \
            for (ptrdiff_t j = 0; j < length; j++) {                                                             \
                float dot = 0;                                                                                   \
                for (ptrdiff_t e = 0; e < d; e++) dot += q[e] * widen(keys[j * width + kv + e]);                 \
                row[j] = dot * scale;                                                                            \
            }                                                                                                    \
            softmax_in_place(row, length);                                                                       \
            for (ptrdiff_t e = 0; e < d; e++) y[e] = 0;                                                          \
            for (ptrdiff_t j = 0; j < length; j++)                                                               \
                for (ptrdiff_t e = 0; e < d; e++) y[e] += row[j] * widen(values[j * width + kv + e]);            \
        }                                                                                                        \
    }

static inline float plain_f32(float value) { return value; }
GPT_DEFINE_PLAIN_ATTEND(plain_attend, float, plain_f32)
GPT_DEFINE_PLAIN_ATTEND(plain_attend_f16, uint16_t, gpt_f16_to_f32)

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
/// then the values, stream past; the softmax's exponentials are the vector ones of gpt_exp_shifted. The loops are
/// compiled once per vector count (`blocks`, a constant in each case of the switch), so that the query and output
/// vectors are registers, not an array in memory (AVX2 has 16 registers: 8 query vectors for a head of 64).
///
/// The query heads that share a key/value head (grouped-query attention) go through its keys, then its values, a
/// block of positions at a time, every head of the group over the block while it is in L1, so the cache is read
/// from memory once per group instead of once per query head. Each head's operations are the same, in the same
/// order, as a head alone (blocks start at multiples of 4, so the keys' groups of four are the same; an output row
/// is stored and reloaded between blocks), so the result is the same bit for bit.
#define GPT_DEFINE_ATTEND(name, attributes, level, type, vector, WIDTH, zero, set1, mul, fmadd, load, kvload,     \
                          store, reduce, reduce4)                                                                \
    /* row[j] = scale * q . k_j for j in [j0, j1), j0 a multiple of 4 */                                         \
    attributes static inline __attribute__((always_inline)) void name##_scores(                                 \
        float *row, const float *query, const type *keys, ptrdiff_t j0, ptrdiff_t j1, ptrdiff_t width,          \
        float scale, const int blocks) {                                                                         \
        vector q[128 / WIDTH];                                                                                   \
        GPT_UNROLL for (int b = 0; b < blocks; b++) q[b] = mul(load(query + WIDTH * b), set1(scale));            \
        ptrdiff_t j = j0;                                                                                        \
        for (; j + 4 <= j1; j += 4) {                                                                            \
            const type *k = keys + j * width;                                                                    \
            vector dots[4];                                                                                      \
            GPT_UNROLL for (int t = 0; t < 4; t++) dots[t] = mul(q[0], kvload(k + t * width));                   \
            GPT_UNROLL for (int b = 1; b < blocks; b++)                                                          \
                GPT_UNROLL for (int t = 0; t < 4; t++) dots[t] = fmadd(q[b], kvload(k + t * width + WIDTH * b), dots[t]); \
            _mm_storeu_ps(row + j, reduce4(dots[0], dots[1], dots[2], dots[3]));                                 \
        }                                                                                                        \
        for (; j < j1; j++) {                                                                                    \
            const type *k = keys + j * width;                                                                    \
            vector dot = mul(q[0], kvload(k));                                                                   \
            GPT_UNROLL for (int b = 1; b < blocks; b++) dot = fmadd(q[b], kvload(k + WIDTH * b), dot);           \
            row[j] = reduce(dot);                                                                                \
        }                                                                                                        \
    }                                                                                                            \
    attributes static inline __attribute__((always_inline)) void name##_normalize(float *row, ptrdiff_t length) { \
        float top = row[0];                                                                                      \
        for (ptrdiff_t t = 1; t < length; t++) top = row[t] > top ? row[t] : top;                                \
        float inverse = 1 / gpt_exp_shifted(level, row, row, length, top);                                       \
        for (ptrdiff_t t = 0; t < length; t++) row[t] *= inverse;                                                \
    }                                                                                                            \
    /* out (+)= sum over j in [j0, j1) of row[j] v_j, from zero when `first` */                                  \
    attributes static inline __attribute__((always_inline)) void name##_values(                                 \
        float *out, const float *row, const type *values, ptrdiff_t j0, ptrdiff_t j1, ptrdiff_t width,          \
        int first, const int blocks) {                                                                           \
        vector y[128 / WIDTH];                                                                                   \
        GPT_UNROLL for (int b = 0; b < blocks; b++) y[b] = first ? zero() : load(out + WIDTH * b);               \
        for (ptrdiff_t j = j0; j < j1; j++) {                                                                    \
            const type *v = values + j * width;                                                                  \
            vector p = set1(row[j]);                                                                             \
            GPT_UNROLL for (int b = 0; b < blocks; b++) y[b] = fmadd(p, kvload(v + WIDTH * b), y[b]);            \
        }                                                                                                        \
        GPT_UNROLL for (int b = 0; b < blocks; b++) store(out + WIDTH * b, y[b]);                                \
    }                                                                                                            \
    /* query heads [h0, h1), all of one key/value head (columns kv.. of keys and values) */                     \
    attributes static inline __attribute__((always_inline)) void name##_group(                                  \
        float *out, float *scores, const float *query, const type *keys, const type *values, ptrdiff_t length,   \
        ptrdiff_t h0, ptrdiff_t h1, ptrdiff_t kv, ptrdiff_t d, ptrdiff_t width, float scale, const int blocks) { \
        ptrdiff_t step = h1 - h0 == 1 ? length : GPT_ATTEND_BLOCK_BYTES / (d * (ptrdiff_t)sizeof(type)) / 4 * 4; \
        if (step < 4) step = 4;                                                                                  \
        for (ptrdiff_t j0 = 0; j0 < length; j0 += step) {                                                        \
            ptrdiff_t j1 = j0 + step < length ? j0 + step : length;                                              \
            for (ptrdiff_t h = h0; h < h1; h++)                                                                  \
                name##_scores(scores + h * length, query + h * d, keys + kv, j0, j1, width, scale, blocks);      \
        }                                                                                                        \
        for (ptrdiff_t h = h0; h < h1; h++) name##_normalize(scores + h * length, length);                      \
        for (ptrdiff_t j0 = 0; j0 < length; j0 += step) {                                                        \
            ptrdiff_t j1 = j0 + step < length ? j0 + step : length;                                              \
            for (ptrdiff_t h = h0; h < h1; h++)                                                                  \
                name##_values(out + h * d, scores + h * length, values + kv, j0, j1, width, j0 == 0, blocks);    \
        }                                                                                                        \
    }                                                                                                            \
    attributes static void name(float *out, float *scores, const float *query, const type *keys,               \
                                const type *values, ptrdiff_t length, ptrdiff_t head_begin, ptrdiff_t head_end,    \
                                ptrdiff_t d, ptrdiff_t width, float scale, ptrdiff_t group) {                     \
        for (ptrdiff_t h0 = head_begin, h1; h0 < head_end; h0 = h1) {                                           \
            h1 = (h0 / group + 1) * group < head_end ? (h0 / group + 1) * group : head_end;                      \
            ptrdiff_t kv = h0 / group * d;                                                                       \
            switch (d / WIDTH) {                                                                                 \
            GPT_ATTEND_CASES_##WIDTH(name)                                                                       \
            }                                                                                                    \
        }                                                                                                        \
    }

/// The bytes of keys (or values) of one key/value head that a group of query heads goes through at a time.
#define GPT_ATTEND_BLOCK_BYTES 8192

#define GPT_ATTEND_CASE(name, blocks)                                                                            \
    case blocks: name##_group(out, scores, query, keys, values, length, h0, h1, kv, d, width, scale, blocks); break;
#define GPT_ATTEND_CASES_16(name) GPT_ATTEND_CASE(name, 1) GPT_ATTEND_CASE(name, 2) GPT_ATTEND_CASE(name, 3)         \
    GPT_ATTEND_CASE(name, 4) GPT_ATTEND_CASE(name, 5) GPT_ATTEND_CASE(name, 6) GPT_ATTEND_CASE(name, 7)              \
    GPT_ATTEND_CASE(name, 8)
#define GPT_ATTEND_CASES_8(name) GPT_ATTEND_CASES_16(name) GPT_ATTEND_CASE(name, 9) GPT_ATTEND_CASE(name, 10)        \
    GPT_ATTEND_CASE(name, 11) GPT_ATTEND_CASE(name, 12) GPT_ATTEND_CASE(name, 13) GPT_ATTEND_CASE(name, 14)         \
    GPT_ATTEND_CASE(name, 15) GPT_ATTEND_CASE(name, 16)

GPT_AVX512 static inline __m512 load_f16x16(const uint16_t *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

GPT_AVX2 static inline __m256 load_f16x8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

GPT_DEFINE_ATTEND(attend_avx512, GPT_AVX512, 3, float, __m512, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_mul_ps,
                  _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_reduce_add_ps, reduce4_512)
GPT_DEFINE_ATTEND(attend_avx2, GPT_AVX2, 2, float, __m256, 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_mul_ps,
                  _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_loadu_ps, _mm256_storeu_ps, gpt_reduce_add_256, reduce4_256)
GPT_DEFINE_ATTEND(attend_f16_avx512, GPT_AVX512, 3, uint16_t, __m512, 16, _mm512_setzero_ps, _mm512_set1_ps,
                  _mm512_mul_ps, _mm512_fmadd_ps, _mm512_loadu_ps, load_f16x16, _mm512_storeu_ps, _mm512_reduce_add_ps,
                  reduce4_512)
GPT_DEFINE_ATTEND(attend_f16_avx2, GPT_AVX2, 2, uint16_t, __m256, 8, _mm256_setzero_ps, _mm256_set1_ps,
                  _mm256_mul_ps, _mm256_fmadd_ps, _mm256_loadu_ps, load_f16x8, _mm256_storeu_ps, gpt_reduce_add_256,
                  reduce4_256)

#endif

/// Defines the entry point `name`: the widest of `wide` (AVX-512, heads of a multiple of 16), `narrow` (AVX2, of 8)
/// and `plain` this machine and the head size allow.
#ifdef GPT_X86
#define GPT_DEFINE_ATTEND_ENTRY(name, type, wide, narrow, plain)                                                 \
    void name(int level, float *out, float *scores, const float *query, const type *keys, const type *values,    \
              ptrdiff_t length, ptrdiff_t head_begin, ptrdiff_t head_end, ptrdiff_t d, ptrdiff_t width, float scale, \
              ptrdiff_t group) {                                                                                 \
        if (level > gpt_simd_level()) level = gpt_simd_level();                                                  \
        if (group < 1) group = 1;                                                                                \
        if (level >= 3 && d % 16 == 0 && d <= 128)                                                               \
            wide(out, scores, query, keys, values, length, head_begin, head_end, d, width, scale, group);        \
        else if (level >= 2 && d % 8 == 0 && d <= 128)                                                           \
            narrow(out, scores, query, keys, values, length, head_begin, head_end, d, width, scale, group);      \
        else                                                                                                     \
            plain(out, scores, query, keys, values, length, head_begin, head_end, d, width, scale, group);       \
    }
#else
#define GPT_DEFINE_ATTEND_ENTRY(name, type, wide, narrow, plain)                                                 \
    void name(int level, float *out, float *scores, const float *query, const type *keys, const type *values,    \
              ptrdiff_t length, ptrdiff_t head_begin, ptrdiff_t head_end, ptrdiff_t d, ptrdiff_t width, float scale, \
              ptrdiff_t group) {                                                                                 \
        (void)level;                                                                                             \
        plain(out, scores, query, keys, values, length, head_begin, head_end, d, width, scale, group < 1 ? 1 : group); \
    }
#endif

GPT_DEFINE_ATTEND_ENTRY(gpt_attend_one_query, float, attend_avx512, attend_avx2, plain_attend)
GPT_DEFINE_ATTEND_ENTRY(gpt_attend_one_query_f16, uint16_t, attend_f16_avx512, attend_f16_avx2, plain_attend_f16)
