// The matrix product on AVX2/AVX-512 registers (see CKernels.h). A is read where it lies, one broadcast per element,
// whichever its transposition; so is B when it is stored [k, n] (its rows hold the tile's columns). A transposed B is
// packed, one depth block at a time, into panels of the tile's width. For the small products of the training presets
// this saves the packing of both operands that a BLAS does on every call.
#include "CKernels.h"
#include "Internal.h"
#include <stdlib.h>
#include <string.h>

#ifdef GPT_X86

/// How a kernel walks A, stored row-major [m, k] (`A_ROWS`) or as its transpose [k, m] (`A_COLUMNS`): `_SETUP`
/// declares the pointers at step 0 (none past the tile's rows), `_AT(i)` is element (i, p) at the current step p,
/// `_NEXT` moves to step p + 1. Rows keep four pointers, to rows 0, 3, 6 and 9, so that each of the twelve loads is
/// one addressing mode (pointer + 0, 1 or 2 row strides) instead of a chain of additions. (The empty `asm` hides how
/// the four relate, or the compiler derives them from one another again.)
#define A_ROWS_SETUP(a, lda, ROWS)                                                                                \
    const float *a0 = (a), *a3 = (a) + (ROWS > 3 ? 3 : 0) * (lda), *a6 = (a) + (ROWS > 6 ? 6 : 0) * (lda);         \
    const float *a9 = (a) + (ROWS > 9 ? 9 : 0) * (lda);                                                          \
    __asm__("" : "+r"(a3), "+r"(a6), "+r"(a9));
#define A_ROWS_AT(lda, i) ((i) < 3 ? a0 : (i) < 6 ? a3 : (i) < 9 ? a6 : a9)[((i) % 3) * (lda)]
#define A_ROWS_NEXT(lda) (a0++, a3++, a6++, a9++)
#define A_COLUMNS_SETUP(a, lda, ROWS) const float *a0 = (a);
#define A_COLUMNS_AT(lda, i) a0[i]
#define A_COLUMNS_NEXT(lda) (a0 += (lda))
/// Software prefetch of A ahead of step p: A's rows are read in place and are often cold (a layer's activations),
/// and a dozen row streams are more than the hardware prefetcher follows. Rows: the line 32 elements ahead in each
/// row, every 16 steps; columns: the row 16 steps ahead (its first and last element, in case it spans two lines).
#define A_ROWS_PREFETCH(a, lda, ROWS, p)                                                                          \
    if (((p) & 15) == 0)                                                                                          \
        for (int r = 0; r < ROWS; r++) _mm_prefetch((const char *)((a) + r * (lda) + (p) + 32), _MM_HINT_T0);
#define A_COLUMNS_PREFETCH(a, lda, ROWS, p)                                                                       \
    _mm_prefetch((const char *)((a) + ((p) + 16) * (lda)), _MM_HINT_T0);                                          \
    _mm_prefetch((const char *)((a) + ((p) + 16) * (lda) + ROWS - 1), _MM_HINT_T0);

/// The epilogue of a tile: C = alpha * tile + beta * C (C not read when beta is 0), + bias[j] when `bias` is not
/// NULL, then max(0, .) when `relu`, for the valid `rows x columns` corner of C.
static void store_partial_tile(float *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, float alpha, float beta,
                               const float *bias, int relu, const float *tile, ptrdiff_t tile_columns) {
    for (ptrdiff_t i = 0; i < rows; i++)
        for (ptrdiff_t j = 0; j < columns; j++) {
            float value = alpha * tile[i * tile_columns + j];
            if (beta != 0) value += beta * c[i * ldc + j];
            if (bias) value += bias[j];
            c[i * ldc + j] = relu && !(value > 0) ? 0 : value;
        }
}

/// Defines `name`: C[0..<ROWS, 0..<columns] = alpha * A B + beta C over `depth`, with B one packed panel
/// [depth][2 WIDTH] (zero past `columns`) of which the first VECTORS (1 or 2) vectors are used, and A read through
/// `A_AT`. ROWS x VECTORS accumulators stay in registers; each step loads VECTORS vectors of B and broadcasts one
/// element of A per row (AVX-512 12 x 32: 27 of 32 registers). The one-vector kernels take panels of at most
/// WIDTH columns (attention's 16-wide heads, the vocabulary's last few columns) without multiplying the padding.
#define GPT_DEFINE_KERNEL(name, attributes, vector, ROWS, VECTORS, WIDTH, A_LAYOUT, zero, set1, load, store, fmadd, \
                          mul, add, max)                                                                          \
    attributes static void name(float *c, ptrdiff_t ldc, ptrdiff_t columns, ptrdiff_t depth, float alpha,          \
                                float beta, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,         \
                                const float *bias, int relu) {                                                    \
        vector acc[ROWS][VECTORS];                                                                                \
        GPT_UNROLL for (int i = 0; i < ROWS; i++) {                                                               \
            GPT_UNROLL for (int v = 0; v < VECTORS; v++) acc[i][v] = zero();                                      \
            _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);                                               \
            _mm_prefetch((const char *)(c + i * ldc + columns - 1), _MM_HINT_T0);                                 \
        }                                                                                                         \
        A_LAYOUT##_SETUP(a, lda, ROWS)                                                                            \
        for (ptrdiff_t p = 0; p < depth; p++, A_LAYOUT##_NEXT(lda)) {                                             \
            A_LAYOUT##_PREFETCH(a, lda, ROWS, p)                                                                  \
            vector bv[VECTORS];                                                                                   \
            GPT_UNROLL for (int v = 0; v < VECTORS; v++) bv[v] = load(b + p * ldb + v * WIDTH);                   \
            GPT_UNROLL for (int i = 0; i < ROWS; i++) {                                                           \
                vector av = set1(A_LAYOUT##_AT(lda, i));                                                          \
                GPT_UNROLL for (int v = 0; v < VECTORS; v++) acc[i][v] = fmadd(av, bv[v], acc[i][v]);             \
            }                                                                                                     \
        }                                                                                                         \
        vector scale = set1(alpha), keep = set1(beta);                                                            \
        if (columns == VECTORS * WIDTH) {                                                                         \
            GPT_UNROLL for (int i = 0; i < ROWS; i++) {                                                           \
                GPT_UNROLL for (int v = 0; v < VECTORS; v++) {                                                    \
                    float *out = c + i * ldc + v * WIDTH;                                                         \
                    vector value = beta == 0 ? mul(acc[i][v], scale) : fmadd(acc[i][v], scale, mul(load(out), keep)); \
                    if (bias) value = add(value, load(bias + v * WIDTH));                                         \
                    store(out, relu ? max(value, zero()) : value);                                                \
                }                                                                                                 \
            }                                                                                                     \
            return;                                                                                               \
        }                                                                                                         \
        float tile[ROWS * VECTORS * WIDTH];                                                                       \
        GPT_UNROLL for (int i = 0; i < ROWS; i++)                                                                 \
            GPT_UNROLL for (int v = 0; v < VECTORS; v++) store(tile + (i * VECTORS + v) * WIDTH, acc[i][v]);      \
        store_partial_tile(c, ldc, ROWS, columns, alpha, beta, bias, relu, tile, VECTORS * WIDTH);                \
    }

#define GPT_AVX512_OPS _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps, \
    _mm512_mul_ps, _mm512_add_ps, _mm512_max_ps
#define GPT_AVX2_OPS _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, \
    _mm256_mul_ps, _mm256_add_ps, _mm256_max_ps
// (GPT_KERNEL expands the *_OPS lists before GPT_DEFINE_KERNEL takes its arguments apart.)
#define GPT_KERNEL(...) GPT_DEFINE_KERNEL(__VA_ARGS__)
// Full tiles, then the leftover rows 4 (AVX-512) or 2 (AVX2) and 1 at a time; two vectors wide, or one.
#define GPT_KERNELS(suffix, attributes, vector, BIG, SMALL, WIDTH, OPS)                                           \
    GPT_KERNEL(rows##BIG##_##suffix, attributes, vector, BIG, 2, WIDTH, A_ROWS, OPS)                              \
    GPT_KERNEL(rows##SMALL##_##suffix, attributes, vector, SMALL, 2, WIDTH, A_ROWS, OPS)                          \
    GPT_KERNEL(rows1_##suffix, attributes, vector, 1, 2, WIDTH, A_ROWS, OPS)                                      \
    GPT_KERNEL(columns##BIG##_##suffix, attributes, vector, BIG, 2, WIDTH, A_COLUMNS, OPS)                        \
    GPT_KERNEL(columns##SMALL##_##suffix, attributes, vector, SMALL, 2, WIDTH, A_COLUMNS, OPS)                    \
    GPT_KERNEL(columns1_##suffix, attributes, vector, 1, 2, WIDTH, A_COLUMNS, OPS)                                \
    GPT_KERNEL(narrow_rows##BIG##_##suffix, attributes, vector, BIG, 1, WIDTH, A_ROWS, OPS)                       \
    GPT_KERNEL(narrow_rows##SMALL##_##suffix, attributes, vector, SMALL, 1, WIDTH, A_ROWS, OPS)                   \
    GPT_KERNEL(narrow_rows1_##suffix, attributes, vector, 1, 1, WIDTH, A_ROWS, OPS)                               \
    GPT_KERNEL(narrow_columns##BIG##_##suffix, attributes, vector, BIG, 1, WIDTH, A_COLUMNS, OPS)                 \
    GPT_KERNEL(narrow_columns##SMALL##_##suffix, attributes, vector, SMALL, 1, WIDTH, A_COLUMNS, OPS)             \
    GPT_KERNEL(narrow_columns1_##suffix, attributes, vector, 1, 1, WIDTH, A_COLUMNS, OPS)
GPT_KERNELS(avx512, GPT_AVX512, __m512, 12, 4, 16, GPT_AVX512_OPS)
GPT_KERNELS(avx2, GPT_AVX2, __m256, 6, 2, 8, GPT_AVX2_OPS)

typedef void (*kernel_fn)(float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, float, float, const float *, ptrdiff_t,
                          const float *, ptrdiff_t, const float *, int);

/// The kernels of one level and layout of A, most rows first, with their row counts.
typedef struct { kernel_fn kernels[3]; ptrdiff_t rows[3]; } kernel_family;

/// [level is AVX-512][A transposed][one vector wide].
static const kernel_family families[2][2][2] = {
    { { { { rows6_avx2, rows2_avx2, rows1_avx2 }, { 6, 2, 1 } },
        { { narrow_rows6_avx2, narrow_rows2_avx2, narrow_rows1_avx2 }, { 6, 2, 1 } } },
      { { { columns6_avx2, columns2_avx2, columns1_avx2 }, { 6, 2, 1 } },
        { { narrow_columns6_avx2, narrow_columns2_avx2, narrow_columns1_avx2 }, { 6, 2, 1 } } } },
    { { { { rows12_avx512, rows4_avx512, rows1_avx512 }, { 12, 4, 1 } },
        { { narrow_rows12_avx512, narrow_rows4_avx512, narrow_rows1_avx512 }, { 12, 4, 1 } } },
      { { { columns12_avx512, columns4_avx512, columns1_avx512 }, { 12, 4, 1 } },
        { { narrow_columns12_avx512, narrow_columns4_avx512, narrow_columns1_avx512 }, { 12, 4, 1 } } } },
};

#endif

#ifdef GPT_X86
/// Depth and column blocking: a packed block of B is at most kDepthBlock x kColumnBlock floats (1 MB), within L2.
enum { kDepthBlock = 256, kColumnBlock = 1024 };


/// Transposes the 8 x 8 block at `in` (row stride `in_stride`) into `out` (row stride `out_stride`).
GPT_AVX2 static inline void transpose8x8(float *out, ptrdiff_t out_stride, const float *in, ptrdiff_t in_stride) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(in + i * in_stride);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(out + i * out_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(out + (i + 4) * out_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
}

/// Packs B's rows [p0, p0 + depth) and columns [j0, j0 + columns) into panels of `width` columns, each
/// [depth][width], zero-padded past `columns`. Element (p, j) is b[p * ldb + j], or b[j * ldb + p] when transposed
/// (then 8 x 8 blocks are transposed in registers).
GPT_AVX2 static void pack_b(float *packed, const float *b, ptrdiff_t ldb, int transpose, ptrdiff_t p0,
                            ptrdiff_t depth, ptrdiff_t j0, ptrdiff_t columns, ptrdiff_t width) {
    ptrdiff_t panels = (columns + width - 1) / width, last = columns - (panels - 1) * width;
    if (last < width) {  // the last panel's padding
        float *out = packed + (panels - 1) * width * depth;
        for (ptrdiff_t p = 0; p < depth; p++) memset(out + p * width + last, 0, sizeof(float) * (size_t)(width - last));
    }
    if (!transpose) {  // row by row, so the reads of B run straight through memory
        for (ptrdiff_t p = 0; p < depth; p++) {
            const float *row = b + (p0 + p) * ldb + j0;
            for (ptrdiff_t panel = 0; panel < panels; panel++) {
                float *destination = packed + panel * width * depth + p * width;
                const float *source = row + panel * width;
                ptrdiff_t count = panel == panels - 1 ? last : width, j = 0;
                for (; j + 8 <= count; j += 8) _mm256_storeu_ps(destination + j, _mm256_loadu_ps(source + j));
                for (; j < count; j++) destination[j] = source[j];
            }
        }
        return;
    }
    for (ptrdiff_t panel = 0; panel < panels; panel++) {
        float *out = packed + panel * width * depth;
        ptrdiff_t first = j0 + panel * width, count = panel == panels - 1 ? last : width;
        ptrdiff_t full = count & ~(ptrdiff_t)7, deep = depth & ~(ptrdiff_t)7;
        for (ptrdiff_t j = 0; j < full; j += 8)
            for (ptrdiff_t p = 0; p < deep; p += 8)
                transpose8x8(out + p * width + j, width, b + (first + j) * ldb + p0 + p, ldb);
        for (ptrdiff_t j = 0; j < count; j++) {
            const float *column = b + (first + j) * ldb + p0;
            for (ptrdiff_t p = j < full ? deep : 0; p < depth; p++) out[p * width + j] = column[p];
        }
    }
}
#endif

int gpt_sgemm(int level, int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
              const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc,
              const float *bias, int relu) {
#ifdef GPT_X86
    if (level < 2 || m <= 0 || n <= 0 || k <= 0) return 0;
    ptrdiff_t width = level >= 3 ? 32 : 16;  // the tile's columns: 2 vectors
    // B untransposed is read in place, panel by panel, but for a last panel narrower than the kernel's loads.
    int in_place = !transpose_b;
    ptrdiff_t column_block = n < kColumnBlock ? n : kColumnBlock;
    size_t needed = (size_t)(kDepthBlock * ((column_block + width - 1) / width) * width);
    // This thread's buffer for packed B, kept for its next product and freed when it ends.
    float *pack_buffer = gpt_thread_buffer(gpt_thread_buffer_sgemm_b, sizeof(float) * needed);
    if (!pack_buffer) return 0;
    for (ptrdiff_t j0 = 0; j0 < n; j0 += column_block) {
        ptrdiff_t columns = n - j0 < column_block ? n - j0 : column_block;
        for (ptrdiff_t p0 = 0; p0 < k; p0 += kDepthBlock) {
            ptrdiff_t depth = k - p0 < kDepthBlock ? k - p0 : kDepthBlock;
            float block_beta = p0 == 0 ? beta : 1;
            // The bias joins in the first depth block, the ReLU waits for the last.
            const float *block_bias = p0 == 0 ? bias : NULL;
            int block_relu = relu && p0 + depth == k;
            if (!in_place) pack_b(pack_buffer, b, ldb, transpose_b, p0, depth, j0, columns, width);
            const float *a_block = transpose_a ? a + p0 * lda : a + p0;
            // One panel of B stays in L1 while the tiles of its column sweep down A (which stays in L2).
            for (ptrdiff_t j = 0; j < columns; j += width) {
                ptrdiff_t i = 0, tile_columns = columns - j < width ? columns - j : width;
                const float *panel = pack_buffer + j * depth;
                ptrdiff_t panel_stride = width;
                if (in_place && (tile_columns == width || 2 * tile_columns == width)) {
                    panel = b + p0 * ldb + j0 + j;
                    panel_stride = ldb;
                } else if (in_place) {
                    pack_b(pack_buffer, b, ldb, 0, p0, depth, j0 + j, tile_columns, width);
                    panel = pack_buffer;
                }
                const kernel_family *family = &families[level >= 3][transpose_a != 0][2 * tile_columns <= width];
                for (int size = 0; size < 3; size++) {
                    ptrdiff_t rows = family->rows[size];
                    for (; i + rows <= m; i += rows) {
                        const float *a_rows = transpose_a ? a_block + i : a_block + i * lda;
                        family->kernels[size](c + i * ldc + j0 + j, ldc, tile_columns, depth, alpha, block_beta,
                                              a_rows, lda, panel, panel_stride,
                                              block_bias ? block_bias + j0 + j : NULL, block_relu);
                    }
                }
            }
        }
    }
    return 1;
#else
    (void)level; (void)transpose_a; (void)transpose_b; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda;
    (void)b; (void)ldb; (void)beta; (void)c; (void)ldc; (void)bias; (void)relu;
    return 0;
#endif
}
