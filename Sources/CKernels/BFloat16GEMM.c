// Matrix products on bfloat16 operands with fp32 accumulation (see CKernels.h, gpt_bf16_gemm): the blocked driver
// and its kernels (AMX tiles, AVX512-BF16, AVX2 with the operands widened, and plain-C copies of the first two).
#include "BFloat16Kernels.h"
#include "CKernels.h"
#include <stdlib.h>

_Thread_local gpt_emulated_tile gpt_emulated_tiles[8];

// MARK: - The kernels

GPT_DEFINE_BF16_DOT_KERNEL(dot_emulated, , 12, gpt_emulated_acc, gpt_emulated_ops, gpt_emulated_zero,
                           gpt_emulated_load_acc, gpt_emulated_load, gpt_emulated_broadcast_pair, gpt_emulated_dot,
                           gpt_emulated_store)
GPT_DEFINE_BF16_TILE_KERNEL(tiles_emulated, , gpt_emulated_tile_zero, gpt_emulated_tile_load, gpt_emulated_tile_dot,
                            gpt_emulated_tile_store)
static void begin_emulated_tiles(void) {
    gpt_amx_tile_config config = gpt_amx_tile_config_make();
    gpt_emulated_tile_configure(&config);
}

#ifdef GPT_X86
#define GPT_AVX512BF16 __attribute__((target("avx512bf16,avx512f,avx512bw,avx512vl,avx2,fma")))
#define GPT_AMX __attribute__((target("amx-tile,amx-bf16,avx512bf16,avx512f,avx512bw,avx512vl,avx2,fma")))

GPT_AVX512BF16 static inline __m512 zero512(void) { return _mm512_setzero_ps(); }
GPT_AVX512BF16 static inline __m512i load512(const uint16_t *p) { return _mm512_loadu_si512((const void *)p); }
GPT_AVX512BF16 static inline __m512i broadcast512(const uint16_t *p) {
    int32_t pair;
    memcpy(&pair, p, sizeof pair);
    return _mm512_set1_epi32(pair);
}
GPT_AVX512BF16 static inline __m512 dot512(__m512 acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}
GPT_AVX512BF16 static inline void store512(float *p, __m512 v) { _mm512_storeu_ps(p, v); }
GPT_AVX512BF16 static inline __m512 load_acc512(const float *p) { return _mm512_loadu_ps(p); }
GPT_DEFINE_BF16_DOT_KERNEL(dot_avx512bf16, GPT_AVX512BF16, 12, __m512, __m512i, zero512, load_acc512, load512,
                           broadcast512, dot512, store512)

#define amx_zero(t) _tile_zero(t)
#define amx_load(t, base, stride) _tile_loadd(t, base, stride)
#define amx_dot(c, a, b) _tile_dpbf16ps(c, a, b)
#define amx_store(t, base, stride) _tile_stored(t, base, stride)
GPT_DEFINE_BF16_TILE_KERNEL(tiles_amx, GPT_AMX, amx_zero, amx_load, amx_dot, amx_store)
GPT_AMX static void begin_amx(void) {
    gpt_amx_tile_config config = gpt_amx_tile_config_make();
    _tile_loadconfig(&config);
}
GPT_AMX static void end_amx(void) { _tile_release(); }

// AVX2: each 32-bit lane holds a pair (even depth in the low half, odd in the high half); shifting left by 16 and
// masking the low half off widen them to fp32, and two FMAs add the (exact) products in vdpbf16ps's order, odd
// first: the sums the Intel manual defines for vdpbf16ps, bit for bit, but for its flushing of denormals.
typedef struct { __m256 low, high; } avx2_acc;
typedef struct { __m256i low, high; } avx2_ops;
GPT_AVX2 static inline avx2_acc zero256(void) { return (avx2_acc){_mm256_setzero_ps(), _mm256_setzero_ps()}; }
GPT_AVX2 static inline avx2_ops load256(const uint16_t *p) {
    return (avx2_ops){_mm256_loadu_si256((const __m256i *)p), _mm256_loadu_si256((const __m256i *)(p + 16))};
}
GPT_AVX2 static inline avx2_ops broadcast256(const uint16_t *p) {
    int32_t pair;
    memcpy(&pair, p, sizeof pair);
    __m256i v = _mm256_set1_epi32(pair);
    return (avx2_ops){v, v};
}
GPT_AVX2 static inline __m256 dot_half(__m256 acc, __m256i a, __m256i b) {
    __m256i odd_mask = _mm256_set1_epi32((int)0xFFFF0000u);
    acc = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(a, odd_mask)),
                          _mm256_castsi256_ps(_mm256_and_si256(b, odd_mask)), acc);
    return _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(a, 16)), _mm256_castsi256_ps(_mm256_slli_epi32(b, 16)),
                           acc);
}
GPT_AVX2 static inline avx2_acc dot256(avx2_acc acc, avx2_ops a, avx2_ops b) {
    return (avx2_acc){dot_half(acc.low, a.low, b.low), dot_half(acc.high, a.high, b.high)};
}
GPT_AVX2 static inline void store256(float *p, avx2_acc v) {
    _mm256_storeu_ps(p, v.low);
    _mm256_storeu_ps(p + 8, v.high);
}
GPT_AVX2 static inline avx2_acc load_acc256(const float *p) {
    return (avx2_acc){_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
}
GPT_DEFINE_BF16_DOT_KERNEL(dot_avx2, GPT_AVX2, 2, avx2_acc, avx2_ops, zero256, load_acc256, load256, broadcast256,
                           dot256, store256)
#endif

/// A kernel as the driver uses it: rows per call, depth per block, and what runs before and after a product. The
/// depth blocks are long (a 96-row block of A is 192 or 384 KB, within L2) because each one ends in a merge of every
/// tile into C: a lecture layer's products (depth up to 1,536) merge once, a weight gradient over 16,384 tokens 8
/// or 16 times.
typedef struct {
    gpt_bf16_micro_kernel micro;
    int rows, depth_block;
    void (*begin)(void), (*end)(void);
} kernel_info;

static int kernel_for(int kernel, kernel_info *info) {
    if (!gpt_bf16_kernel_available(kernel)) return 0;
    switch (kernel) {
#ifdef GPT_X86
    case 1: *info = (kernel_info){dot_avx2, 2, 1024, NULL, NULL}; return 1;
    case 2: *info = (kernel_info){dot_avx512bf16, 12, 1024, NULL, NULL}; return 1;
    case 3: *info = (kernel_info){tiles_amx, 32, 2048, begin_amx, end_amx}; return 1;
#endif
    case 4: *info = (kernel_info){dot_emulated, 12, 1024, NULL, NULL}; return 1;
    case 5: *info = (kernel_info){tiles_emulated, 32, 2048, begin_emulated_tiles, NULL}; return 1;
    default: return 0;
    }
}

int gpt_bf16_kernel_available(int kernel) {
    switch (kernel) {
    case 1: return gpt_simd_level() >= 2;
    case 2: return (gpt_bf16_units() & 1) != 0;
    case 3: return (gpt_bf16_units() & 2) != 0;
    case 4: case 5: return 1;
    default: return 0;
    }
}

// MARK: - The driver

/// Rows of op(A) packed at a time (a multiple of every kernel's rows).
enum { block_rows = 96 };

/// C[rows][columns] (stride ldc) += bias on every row.
static inline __attribute__((always_inline)) void add_bias(float *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns,
                                                            const float *bias) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        for (ptrdiff_t j = 0; j < columns; j++) c[i * ldc + j] += bias[j];
    }
}

/// C[rows][columns] (stride ldc) = max(0, C), NaN to 0 (as gpt_sgemm's epilogue).
static inline __attribute__((always_inline)) void apply_relu(float *c, ptrdiff_t ldc, ptrdiff_t rows,
                                                              ptrdiff_t columns) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        for (ptrdiff_t j = 0; j < columns; j++) c[i * ldc + j] = c[i * ldc + j] > 0 ? c[i * ldc + j] : 0;
    }
}

/// C[rows][columns] (stride ldc) = alpha tile + beta C (+ bias) (then max(0, .) when relu); C not read when beta is 0.
static inline __attribute__((always_inline)) void merge_tile(
    const float *tile, ptrdiff_t rows, ptrdiff_t columns, float *c, ptrdiff_t ldc, float alpha, float beta,
    const float *bias, int relu) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        float *row = c + i * ldc;
        const float *sums = tile + 32 * i;
        if (beta == 0) {
            for (ptrdiff_t j = 0; j < columns; j++) row[j] = alpha * sums[j];
        } else if (beta == 1) {
            for (ptrdiff_t j = 0; j < columns; j++) row[j] += alpha * sums[j];
        } else {
            for (ptrdiff_t j = 0; j < columns; j++) row[j] = alpha * sums[j] + beta * row[j];
        }
    }
    if (bias) add_bias(c, ldc, rows, columns, bias);
    if (relu) apply_relu(c, ldc, rows, columns);
}

/// The blocked loops: for each block of 96 rows of op(A) and each block of depth, that block is rounded into this
/// thread's buffer, then multiplied against every pair of B's panels (kept in cache across the block's rows).
static inline __attribute__((always_inline)) int drive(
    kernel_info info, int transpose_a, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
    ptrdiff_t lda, const uint16_t *packed_b, ptrdiff_t packed_depth, float beta, float *c, ptrdiff_t ldc,
    const float *bias, int relu) {
    ptrdiff_t kp = gpt_bf16_depth(k);
    size_t needed = (size_t)block_rows * (size_t)info.depth_block;
    // This thread's buffer for a packed block of A, kept for its next product and freed when it ends.
    uint16_t *a_buffer = gpt_thread_buffer(gpt_thread_buffer_bf16_a, sizeof(uint16_t) * needed);
    if (!a_buffer) return 0;
    float tile[32 * 32] __attribute__((aligned(64)));
    // Whole tiles of a product with alpha 1 and beta 0 or 1 (C (+)= A B (+ bias), then the ReLU) are summed in C
    // itself, block after block of depth: the bias written into the tile first, the ReLU applied to it in cache
    // after the last block. Only other alphas and betas go through the buffer and merge_tile.
    int direct = alpha == 1 && (beta == 0 || beta == 1);
    if (info.begin) info.begin();
    for (ptrdiff_t i0 = 0; i0 < m; i0 += block_rows) {
        ptrdiff_t rows = m - i0 < block_rows ? m - i0 : block_rows;
        ptrdiff_t padded = (rows + info.rows - 1) / info.rows * info.rows;
        for (ptrdiff_t p0 = 0; p0 < kp; p0 += info.depth_block) {
            ptrdiff_t depth = kp - p0 < info.depth_block ? kp - p0 : info.depth_block;
            ptrdiff_t valid = k - p0 < depth ? k - p0 : depth;
            const float *source = transpose_a ? a + p0 * lda + i0 : a + i0 * lda + p0;
            gpt_bf16_pack_a(a_buffer, transpose_a, source, lda, rows, padded, depth, valid);
            int first = p0 == 0, last = p0 + depth >= kp;
            for (ptrdiff_t j0 = 0; j0 < n; j0 += 32) {
                const uint16_t *b0 = packed_b + j0 * packed_depth + p0 * 16, *b1 = b0 + packed_depth * 16;
                ptrdiff_t columns = n - j0 < 32 ? n - j0 : 32;
                for (ptrdiff_t r0 = 0; r0 < rows; r0 += info.rows) {
                    ptrdiff_t tile_rows = rows - r0 < info.rows ? rows - r0 : info.rows;
                    float *target = c + (i0 + r0) * ldc + j0;
                    if (direct && tile_rows == info.rows && columns == 32) {  // into C, no merge
                        int accumulate = !first || beta == 1;
                        if (first && bias) {  // the tile starts as (C +) the bias
                            if (accumulate) {
                                add_bias(target, ldc, info.rows, 32, bias + j0);
                            } else {
                                for (int i = 0; i < info.rows; i++) {
                                    memcpy(target + i * ldc, bias + j0, 32 * sizeof(float));
                                }
                            }
                            accumulate = 1;
                        }
                        info.micro(a_buffer + r0 * depth, depth, b0, b1, depth / 2, target, ldc, accumulate);
                        if (last && relu) apply_relu(target, ldc, info.rows, 32);
                        continue;
                    }
                    info.micro(a_buffer + r0 * depth, depth, b0, b1, depth / 2, tile, 32, 0);
                    merge_tile(tile, tile_rows, columns, target, ldc, alpha, first ? beta : 1,
                               first && bias ? bias + j0 : NULL, last && relu);
                }
            }
        }
    }
    if (info.end) info.end();
    return 1;
}

#define GPT_BF16_DRIVE_ARGUMENTS                                                                                   \
    kernel_info info, int transpose_a, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,        \
        ptrdiff_t lda, const uint16_t *packed_b, ptrdiff_t packed_depth, float beta, float *c, ptrdiff_t ldc,      \
        const float *bias, int relu
static int drive_plain(GPT_BF16_DRIVE_ARGUMENTS) {
    return drive(info, transpose_a, m, n, k, alpha, a, lda, packed_b, packed_depth, beta, c, ldc, bias, relu);
}
#ifdef GPT_X86
GPT_AVX2 static int drive_avx2(GPT_BF16_DRIVE_ARGUMENTS) {
    return drive(info, transpose_a, m, n, k, alpha, a, lda, packed_b, packed_depth, beta, c, ldc, bias, relu);
}
GPT_AVX512 static int drive_avx512(GPT_BF16_DRIVE_ARGUMENTS) {
    return drive(info, transpose_a, m, n, k, alpha, a, lda, packed_b, packed_depth, beta, c, ldc, bias, relu);
}
#endif

int gpt_bf16_gemm_packed(int kernel, int transpose_a, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                         const float *a, ptrdiff_t lda, const uint16_t *packed_b, ptrdiff_t packed_depth, float beta,
                         float *c, ptrdiff_t ldc, const float *bias, int relu) {
    kernel_info info;
    if (m <= 0 || n <= 0 || k <= 0 || packed_depth < gpt_bf16_depth(k) || !kernel_for(kernel, &info)) return 0;
    // The merging of tiles into C vectorised for the widest instructions here (the kernels are called, not inlined).
#define GPT_BF16_DRIVE(variant) \
    return variant(info, transpose_a, m, n, k, alpha, a, lda, packed_b, packed_depth, beta, c, ldc, bias, relu)
    GPT_DISPATCH(3, GPT_BF16_DRIVE(drive_avx512), GPT_BF16_DRIVE(drive_avx2), GPT_BF16_DRIVE(drive_plain));
#undef GPT_BF16_DRIVE
}

int gpt_bf16_gemm(int kernel, int transpose_a, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                  ptrdiff_t lda, const uint16_t *packed_b, float beta, float *c, ptrdiff_t ldc, const float *bias,
                  int relu) {
    return gpt_bf16_gemm_packed(kernel, transpose_a, m, n, k, alpha, a, lda, packed_b, gpt_bf16_depth(k), beta, c,
                                ldc, bias, relu);
}
