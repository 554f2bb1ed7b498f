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

/// 12 x 32: 24 accumulators, two vectors of B and one broadcast of A (27 of the 32 ZMM registers).
GPT_AVX512 static void tile_avx512(float *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t depth,
                                   float alpha, const float *a, const float *b) {
    __m512 acc[12][2];
    for (int i = 0; i < 12; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (ptrdiff_t p = 0; p < depth; p++) {
        __m512 b0 = _mm512_loadu_ps(b + p * 32), b1 = _mm512_loadu_ps(b + p * 32 + 16);
        const float *ap = a + p * 12;
        for (int i = 0; i < 12; i++) {
            __m512 av = _mm512_set1_ps(ap[i]);
            acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
        }
    }
    __m512 scale = _mm512_set1_ps(alpha);
    if (rows == 12 && columns == 32) {
        for (int i = 0; i < 12; i++) {
            float *row = c + i * ldc;
            _mm512_storeu_ps(row, _mm512_fmadd_ps(acc[i][0], scale, _mm512_loadu_ps(row)));
            _mm512_storeu_ps(row + 16, _mm512_fmadd_ps(acc[i][1], scale, _mm512_loadu_ps(row + 16)));
        }
        return;
    }
    float tile[12 * 32];
    for (int i = 0; i < 12; i++) {
        _mm512_storeu_ps(tile + i * 32, acc[i][0]);
        _mm512_storeu_ps(tile + i * 32 + 16, acc[i][1]);
    }
    add_partial_tile(c, ldc, rows, columns, alpha, tile, 32);
}

/// 6 x 16: 12 accumulators, two vectors of B and one broadcast of A (15 of the 16 YMM registers).
GPT_AVX2 static void tile_avx2(float *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t depth,
                               float alpha, const float *a, const float *b) {
    __m256 acc[6][2];
    for (int i = 0; i < 6; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (ptrdiff_t p = 0; p < depth; p++) {
        __m256 b0 = _mm256_loadu_ps(b + p * 16), b1 = _mm256_loadu_ps(b + p * 16 + 8);
        const float *ap = a + p * 6;
        for (int i = 0; i < 6; i++) {
            __m256 av = _mm256_broadcast_ss(ap + i);
            acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
        }
    }
    __m256 scale = _mm256_set1_ps(alpha);
    if (rows == 6 && columns == 16) {
        for (int i = 0; i < 6; i++) {
            float *row = c + i * ldc;
            _mm256_storeu_ps(row, _mm256_fmadd_ps(acc[i][0], scale, _mm256_loadu_ps(row)));
            _mm256_storeu_ps(row + 8, _mm256_fmadd_ps(acc[i][1], scale, _mm256_loadu_ps(row + 8)));
        }
        return;
    }
    float tile[6 * 16];
    for (int i = 0; i < 6; i++) {
        _mm256_storeu_ps(tile + i * 16, acc[i][0]);
        _mm256_storeu_ps(tile + i * 16 + 8, acc[i][1]);
    }
    add_partial_tile(c, ldc, rows, columns, alpha, tile, 16);
}

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
