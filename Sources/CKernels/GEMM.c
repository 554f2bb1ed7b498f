// Register-tiled micro-kernels for the portable matrix product (see CKernels.h). Swift packs the panels; each
// call here multiplies one packed panel of A by one of B, keeping the whole C tile in registers over the depth.
#include "CKernels.h"
#include "Internal.h"

int gpt_gemm_tile_rows(int level) { return level >= 3 ? 12 : level >= 2 ? 6 : 0; }
int gpt_gemm_tile_columns(int level) { return level >= 3 ? 32 : level >= 2 ? 16 : 0; }

#ifdef GPT_X86

/// Adds `alpha * tile` (a [ROWS][COLUMNS] block in `tile`) to the valid `rows x columns` corner of C.
static void add_partial_tile(float *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, float alpha,
                             const float *tile, ptrdiff_t tile_columns) {
    for (ptrdiff_t i = 0; i < rows; i++)
        for (ptrdiff_t j = 0; j < columns; j++) c[i * ldc + j] += alpha * tile[i * tile_columns + j];
}

/// Defines `name`, a ROWS x (2 WIDTH) tile: 2 ROWS accumulators, two vectors of B and one broadcast of A per step
/// (AVX-512: 12 x 32, 27 of the 32 ZMM registers; AVX2: 6 x 16, 15 of the 16 YMM registers).
#define GPT_DEFINE_TILE(name, attributes, vector, ROWS, WIDTH, zero, set1, load, store, fmadd)                     \
    attributes static void name(float *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t depth,     \
                                float alpha, const float *a, const float *b) {                                   \
        vector acc[ROWS][2];                                                                                     \
        for (int i = 0; i < ROWS; i++) acc[i][0] = acc[i][1] = zero();                                           \
        for (ptrdiff_t p = 0; p < depth; p++) {                                                                  \
            vector b0 = load(b + p * 2 * WIDTH), b1 = load(b + p * 2 * WIDTH + WIDTH);                           \
            const float *ap = a + p * ROWS;                                                                      \
            for (int i = 0; i < ROWS; i++) {                                                                     \
                vector av = set1(ap[i]);                                                                         \
                acc[i][0] = fmadd(av, b0, acc[i][0]);                                                            \
                acc[i][1] = fmadd(av, b1, acc[i][1]);                                                            \
            }                                                                                                    \
        }                                                                                                        \
        vector scale = set1(alpha);                                                                              \
        if (rows == ROWS && columns == 2 * WIDTH) {                                                              \
            for (int i = 0; i < ROWS; i++) {                                                                     \
                float *row = c + i * ldc;                                                                        \
                store(row, fmadd(acc[i][0], scale, load(row)));                                                  \
                store(row + WIDTH, fmadd(acc[i][1], scale, load(row + WIDTH)));                                  \
            }                                                                                                    \
            return;                                                                                              \
        }                                                                                                        \
        float tile[ROWS * 2 * WIDTH];                                                                            \
        for (int i = 0; i < ROWS; i++) {                                                                         \
            store(tile + i * 2 * WIDTH, acc[i][0]);                                                              \
            store(tile + i * 2 * WIDTH + WIDTH, acc[i][1]);                                                      \
        }                                                                                                        \
        add_partial_tile(c, ldc, rows, columns, alpha, tile, 2 * WIDTH);                                         \
    }

GPT_DEFINE_TILE(tile_avx512, GPT_AVX512, __m512, 12, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps,
                _mm512_storeu_ps, _mm512_fmadd_ps)
GPT_DEFINE_TILE(tile_avx2, GPT_AVX2, __m256, 6, 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps,
                _mm256_storeu_ps, _mm256_fmadd_ps)

#endif

void gpt_gemm_tile(int level, float *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t depth,
                   float alpha, const float *a, const float *b) {
#ifdef GPT_X86
    if (level >= 3) {
        tile_avx512(c, ldc, rows, columns, depth, alpha, a, b);
        return;
    }
    if (level >= 2) {
        tile_avx2(c, ldc, rows, columns, depth, alpha, a, b);
        return;
    }
#endif
    // No vector tile here (gpt_gemm_tile_rows(level) is 0): the caller uses its Swift tile instead.
    (void)level; (void)c; (void)ldc; (void)rows; (void)columns; (void)depth; (void)alpha; (void)a; (void)b;
}
