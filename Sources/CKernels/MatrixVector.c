// Matrix-vector products for one-token decoding, and the same products for a few input rows (see CKernels.h):
// decoding streams every weight once per token, so the loads set the pace. AVX-512 reads one row at a time with four
// independent accumulators; AVX2 (16 registers) runs tiles of rows with one accumulator per pair.
#include "CKernels.h"
#include "Internal.h"


/// Defines `name(out, weight, input, row_begin, row_end, columns, accumulate)` for weights of `type`, with `WIDTH`
/// lanes per vector: `load(row + c)` widens WIDTH weights to fp32, `scalar(row, c)` reads one for the tail.
#define GPT_DEFINE_MATVEC(name, attributes, type, vector, WIDTH, zero, fmadd, load_input, load, reduce, scalar) \
    attributes static void name(float *out, const type *weight, const float *input, ptrdiff_t row_begin,          \
                                ptrdiff_t row_end, ptrdiff_t columns, int accumulate) {                         \
        ptrdiff_t body = columns - columns % (4 * WIDTH);                                                        \
        for (ptrdiff_t r = row_begin; r < row_end; r++) {                                                        \
            const type *row = weight + r * columns;                                                              \
            vector a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();                                           \
            ptrdiff_t c = 0;                                                                                     \
            for (; c < body; c += 4 * WIDTH) {                                                                   \
                a0 = fmadd(load(row + c), load_input(input + c), a0);                                            \
                a1 = fmadd(load(row + c + WIDTH), load_input(input + c + WIDTH), a1);                            \
                a2 = fmadd(load(row + c + 2 * WIDTH), load_input(input + c + 2 * WIDTH), a2);                    \
                a3 = fmadd(load(row + c + 3 * WIDTH), load_input(input + c + 3 * WIDTH), a3);                    \
            }                                                                                                    \
            for (; c + WIDTH <= columns; c += WIDTH) a0 = fmadd(load(row + c), load_input(input + c), a0);       \
            float total = 0;                                                                                     \
            for (ptrdiff_t tail = c; tail < columns; tail++) total += scalar(row, tail) * input[tail];           \
            total += reduce(a0 + a1 + (a2 + a3));                                                                \
            out[r] = accumulate ? out[r] + total : total;                                                        \
        }                                                                                                        \
    }

/// Defines `name(out, ldc, weight, input, lda, m, row_begin, row_end, columns, accumulate)`: the products of `m`
/// input rows by the fp32 weight rows [row_begin, row_end), in tiles of two weight rows by two input rows (sixteen
/// accumulators: one load per multiply-add where the matrix-vector kernel needs two). Each (input row, weight row)
/// pair sums in exactly the matrix-vector kernel's order (four accumulators over interleaved vectors, the scalar
/// tail, then `a0 + a1 + (a2 + a3)` reduced), so every row's outputs equal that row's product alone, bit for bit.
/// A tile's two weight rows are half the range apart (rows r and r + half), so the weights stream from memory as two
/// sequential runs: pairing neighbouring rows made each tile start a new stream, and the prefetchers never caught
/// up (2.3x slower for two input rows on a Zen 4).
#define GPT_DEFINE_ROWS(name, attributes, vector, WIDTH, zero, fmadd, load, reduce)                               \
    attributes static inline __attribute__((always_inline)) void name##_tile(                                   \
        float *out, ptrdiff_t ldc, const float *weight, const float *input, ptrdiff_t lda, ptrdiff_t i0,         \
        ptrdiff_t r0, ptrdiff_t apart, const int MI, const int NR, ptrdiff_t columns, int accumulate) {          \
        vector acc[2][2][4];                                                                                     \
        GPT_UNROLL for (int i = 0; i < MI; i++) GPT_UNROLL for (int j = 0; j < NR; j++)                          \
            GPT_UNROLL for (int a = 0; a < 4; a++) acc[i][j][a] = zero();                                        \
        const float *w[2], *x[2];                                                                                \
        GPT_UNROLL for (int j = 0; j < NR; j++) w[j] = weight + (r0 + j * apart) * columns;                     \
        GPT_UNROLL for (int i = 0; i < MI; i++) x[i] = input + (i0 + i) * lda;                                  \
        ptrdiff_t body = columns - columns % (4 * WIDTH), c = 0;                                                 \
        for (; c < body; c += 4 * WIDTH) {                                                                       \
            GPT_UNROLL for (int a = 0; a < 4; a++) {                                                             \
                vector wv[2], xv[2];                                                                             \
                GPT_UNROLL for (int j = 0; j < NR; j++) wv[j] = load(w[j] + c + a * WIDTH);                      \
                GPT_UNROLL for (int i = 0; i < MI; i++) xv[i] = load(x[i] + c + a * WIDTH);                      \
                GPT_UNROLL for (int i = 0; i < MI; i++) GPT_UNROLL for (int j = 0; j < NR; j++)                  \
                    acc[i][j][a] = fmadd(wv[j], xv[i], acc[i][j][a]);                                            \
            }                                                                                                    \
        }                                                                                                        \
        for (; c + WIDTH <= columns; c += WIDTH)                                                                 \
            GPT_UNROLL for (int i = 0; i < MI; i++) GPT_UNROLL for (int j = 0; j < NR; j++)                      \
                acc[i][j][0] = fmadd(load(w[j] + c), load(x[i] + c), acc[i][j][0]);                              \
        GPT_UNROLL for (int i = 0; i < MI; i++) GPT_UNROLL for (int j = 0; j < NR; j++) {                        \
            float total = 0;                                                                                     \
            for (ptrdiff_t tail = c; tail < columns; tail++) total += w[j][tail] * x[i][tail];                   \
            total += reduce(acc[i][j][0] + acc[i][j][1] + (acc[i][j][2] + acc[i][j][3]));                        \
            float *o = out + (i0 + i) * ldc + r0 + j * apart;                                                    \
            *o = accumulate ? *o + total : total;                                                                \
        }                                                                                                        \
    }                                                                                                            \
    attributes static void name(float *out, ptrdiff_t ldc, const float *weight, const float *input,             \
                                ptrdiff_t lda, ptrdiff_t m, ptrdiff_t row_begin, ptrdiff_t row_end,              \
                                ptrdiff_t columns, int accumulate) {                                             \
        ptrdiff_t half = (row_end - row_begin) / 2;                                                              \
        for (ptrdiff_t r = row_begin; r < row_begin + half; r++) {                                               \
            ptrdiff_t i = 0;                                                                                     \
            for (; i + 2 <= m; i += 2)                                                                           \
                name##_tile(out, ldc, weight, input, lda, i, r, half, 2, 2, columns, accumulate);                \
            if (i < m) name##_tile(out, ldc, weight, input, lda, i, r, half, 1, 2, columns, accumulate);        \
        }                                                                                                        \
        if ((row_end - row_begin) % 2) {                                                                         \
            ptrdiff_t i = 0, r = row_end - 1;                                                                    \
            for (; i + 2 <= m; i += 2) name##_tile(out, ldc, weight, input, lda, i, r, 0, 2, 1, columns, accumulate); \
            if (i < m) name##_tile(out, ldc, weight, input, lda, i, r, 0, 1, 1, columns, accumulate);           \
        }                                                                                                        \
    }

/// Defines `name##_matvec(out, weight, input, row_begin, row_end, columns, accumulate)` and
/// `name##_rows(out, ldc, weight, input, lda, m, row_begin, row_end, columns, accumulate)` (the signatures of
/// GPT_DEFINE_MATVEC and GPT_DEFINE_ROWS) for fp32 weights on instruction sets with 16 vector registers (AVX2), where
/// four accumulators per (input row, weight row) pair cannot stay in registers for a 2x2 tile. Here every pair sums
/// in one accumulator over the whole vectors in order, then the scalar tail, then one reduction, and both products
/// run the same tile: up to 2 input rows by 4 weight rows a quarter of the range apart (8 accumulators; the weights
/// stream as 4 sequential runs), so a row's outputs in a batch equal its product alone, bit for bit. On a Zen 3 (one
/// thread, the lecture model's six layers, -O2 as the package builds) this took 0.63x the time of the four-accumulator
/// kernels for one input row and 0.70x for 8.
#define GPT_DEFINE_CHAIN_TILES(name, attributes, vector, WIDTH, zero, fmadd, load, reduce)                         \
    attributes static inline __attribute__((always_inline)) void name##_tile(                                   \
        float *out, ptrdiff_t ldc, const float *weight, const float *input, ptrdiff_t lda, ptrdiff_t i0,         \
        ptrdiff_t r0, ptrdiff_t apart, const int MI, const int NR, ptrdiff_t columns, int accumulate) {          \
        vector acc[2][4];                                                                                        \
        const float *w[4], *x[2];                                                                                \
        GPT_UNROLL for (int j = 0; j < NR; j++) w[j] = weight + (r0 + j * apart) * columns;                     \
        GPT_UNROLL for (int i = 0; i < MI; i++) x[i] = input + (i0 + i) * lda;                                  \
        GPT_UNROLL for (int i = 0; i < MI; i++) GPT_UNROLL for (int j = 0; j < NR; j++) acc[i][j] = zero();      \
        ptrdiff_t whole = columns - columns % WIDTH;                                                             \
        for (ptrdiff_t c = 0; c < whole; c += WIDTH) {                                                           \
            vector wv[4];                                                                                        \
            GPT_UNROLL for (int j = 0; j < NR; j++) wv[j] = load(w[j] + c);                                      \
            GPT_UNROLL for (int i = 0; i < MI; i++) {                                                            \
                vector xv = load(x[i] + c);                                                                      \
                GPT_UNROLL for (int j = 0; j < NR; j++) acc[i][j] = fmadd(wv[j], xv, acc[i][j]);                 \
            }                                                                                                    \
        }                                                                                                        \
        GPT_UNROLL for (int i = 0; i < MI; i++) GPT_UNROLL for (int j = 0; j < NR; j++) {                        \
            float total = 0;                                                                                     \
            for (ptrdiff_t t = whole; t < columns; t++) total += w[j][t] * x[i][t];                              \
            total += reduce(acc[i][j]);                                                                          \
            float *o = out + (i0 + i) * ldc + r0 + j * apart;                                                    \
            *o = accumulate ? *o + total : total;                                                                \
        }                                                                                                        \
    }                                                                                                            \
    attributes static void name##_rows(float *out, ptrdiff_t ldc, const float *weight, const float *input,      \
                                       ptrdiff_t lda, ptrdiff_t m, ptrdiff_t row_begin, ptrdiff_t row_end,       \
                                       ptrdiff_t columns, int accumulate) {                                      \
        ptrdiff_t part = (row_end - row_begin) / 4, i;                                                           \
        for (ptrdiff_t r = row_begin; r < row_begin + part; r++) {                                               \
            for (i = 0; i + 2 <= m; i += 2) name##_tile(out, ldc, weight, input, lda, i, r, part, 2, 4, columns, accumulate); \
            if (i < m) name##_tile(out, ldc, weight, input, lda, i, r, part, 1, 4, columns, accumulate);         \
        }                                                                                                        \
        for (ptrdiff_t r = row_begin + 4 * part; r < row_end; r++) {                                             \
            for (i = 0; i + 2 <= m; i += 2) name##_tile(out, ldc, weight, input, lda, i, r, 0, 2, 1, columns, accumulate); \
            if (i < m) name##_tile(out, ldc, weight, input, lda, i, r, 0, 1, 1, columns, accumulate);           \
        }                                                                                                        \
    }                                                                                                            \
    attributes static void name##_matvec(float *out, const float *weight, const float *input, ptrdiff_t row_begin, \
                                         ptrdiff_t row_end, ptrdiff_t columns, int accumulate) {                 \
        name##_rows(out, 0, weight, input, 0, 1, row_begin, row_end, columns, accumulate);                      \
    }

static void plain_f32(float *out, const float *weight, const float *input,
                      ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t columns, int accumulate) {
    for (ptrdiff_t r = row_begin; r < row_end; r++) {
        float total = 0;
        for (ptrdiff_t c = 0; c < columns; c++) total += weight[r * columns + c] * input[c];
        out[r] = accumulate ? out[r] + total : total;
    }
}

static void plain_bf16(float *out, const uint16_t *weight, const float *input,
                       ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t columns, int accumulate) {
    for (ptrdiff_t r = row_begin; r < row_end; r++) {
        float total = 0;
        for (ptrdiff_t c = 0; c < columns; c++) total += gpt_bf16_to_f32(weight[r * columns + c]) * input[c];
        out[r] = accumulate ? out[r] + total : total;
    }
}

#ifdef GPT_X86

static float plain_f32_weight(const float *row, ptrdiff_t c) { return row[c]; }
static float plain_bf16_weight(const uint16_t *row, ptrdiff_t c) { return gpt_bf16_to_f32(row[c]); }

GPT_AVX512 static inline __m512 widen16(const uint16_t *p) {
    __m512i words = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(words, 16));
}

GPT_AVX2 static inline __m256 widen8(const uint16_t *p) {
    __m256i words = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(words, 16));
}

GPT_DEFINE_MATVEC(matvec_f32_avx512, GPT_AVX512, float, __m512, 16, _mm512_setzero_ps, _mm512_fmadd_ps,
                  _mm512_loadu_ps, _mm512_loadu_ps, _mm512_reduce_add_ps, plain_f32_weight)
GPT_DEFINE_ROWS(rows_f32_avx512, GPT_AVX512, __m512, 16, _mm512_setzero_ps, _mm512_fmadd_ps, _mm512_loadu_ps,
                _mm512_reduce_add_ps)
GPT_DEFINE_CHAIN_TILES(f32_avx2, GPT_AVX2, __m256, 8, _mm256_setzero_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
                       gpt_reduce_add_256)
GPT_DEFINE_MATVEC(matvec_bf16_avx512, GPT_AVX512, uint16_t, __m512, 16, _mm512_setzero_ps, _mm512_fmadd_ps,
                  _mm512_loadu_ps, widen16, _mm512_reduce_add_ps, plain_bf16_weight)
GPT_DEFINE_MATVEC(matvec_bf16_avx2, GPT_AVX2, uint16_t, __m256, 8, _mm256_setzero_ps, _mm256_fmadd_ps,
                  _mm256_loadu_ps, widen8, gpt_reduce_add_256, plain_bf16_weight)

#endif

void gpt_matvec_f32(int level, float *out, const float *weight, const float *input,
                    ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t columns, int accumulate) {
    GPT_DISPATCH(level, matvec_f32_avx512(out, weight, input, row_begin, row_end, columns, accumulate),
                 f32_avx2_matvec(out, weight, input, row_begin, row_end, columns, accumulate),
                 plain_f32(out, weight, input, row_begin, row_end, columns, accumulate));
}

void gpt_matvec_bf16(int level, float *out, const uint16_t *weight, const float *input,
                     ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t columns, int accumulate) {
    GPT_DISPATCH(level, matvec_bf16_avx512(out, weight, input, row_begin, row_end, columns, accumulate),
                 matvec_bf16_avx2(out, weight, input, row_begin, row_end, columns, accumulate),
                 plain_bf16(out, weight, input, row_begin, row_end, columns, accumulate));
}

void gpt_rows_f32(int level, float *out, ptrdiff_t ldc, const float *weight, const float *input, ptrdiff_t lda,
                  ptrdiff_t m, ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t columns, int accumulate) {
    GPT_DISPATCH(level, rows_f32_avx512(out, ldc, weight, input, lda, m, row_begin, row_end, columns, accumulate),
                 f32_avx2_rows(out, ldc, weight, input, lda, m, row_begin, row_end, columns, accumulate),
                 for (ptrdiff_t i = 0; i < m; i++)
                     plain_f32(out + i * ldc, weight, input + i * lda, row_begin, row_end, columns, accumulate));
}
