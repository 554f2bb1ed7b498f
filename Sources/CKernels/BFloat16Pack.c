// Rounding fp32 operands to bfloat16 in the layouts the bfloat16 kernels read (BFloat16Kernels.h): A in blocks of
// rows, B in VNNI panels. One body each, compiled for AVX-512 and AVX2 (vectorised by the compiler) and the baseline.
#include "CKernels.h"
#include "Internal.h"
#include <string.h>

/// The bfloat16 nearest to x, ties to even (torch's round_to_nearest_even); a NaN stays a quiet NaN.
static inline __attribute__((always_inline)) uint16_t round_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    return (u & 0x7FFFFFFFu) > 0x7F800000u ? (uint16_t)((u >> 16) | 0x40u) : (uint16_t)rounded;
}

uint16_t gpt_bf16_round(float x) { return round_bf16(x); }

ptrdiff_t gpt_bf16_depth(ptrdiff_t k) { return (k + 31) / 32 * 32; }

ptrdiff_t gpt_bf16_packed_b_count(ptrdiff_t k, ptrdiff_t n) { return (n + 31) / 32 * 32 * gpt_bf16_depth(k); }

static inline __attribute__((always_inline)) void pack_a_body(
    uint16_t *out, int transpose_a, const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t padded_rows,
    ptrdiff_t depth, ptrdiff_t valid) {
    if (!transpose_a) {
        for (ptrdiff_t i = 0; i < rows; i++) {
            const float *source = a + i * lda;
            uint16_t *target = out + i * depth;
            for (ptrdiff_t p = 0; p < valid; p++) target[p] = round_bf16(source[p]);
            for (ptrdiff_t p = valid; p < depth; p++) target[p] = 0;
        }
    } else {
        for (ptrdiff_t i = 0; i < rows; i++) {
            for (ptrdiff_t p = valid; p < depth; p++) out[i * depth + p] = 0;
        }
        // Pairs of depth (p, p + 1) of 16 rows at a time: the 16 rows' values are contiguous in A's rows p and
        // p + 1, and each row's pair is one 32-bit word of the output.
        for (ptrdiff_t i0 = 0; i0 < rows; i0 += 16) {
            ptrdiff_t count = rows - i0 < 16 ? rows - i0 : 16;
            for (ptrdiff_t p = 0; p < valid; p += 2) {
                const float *low = a + p * lda + i0, *high = p + 1 < valid ? low + lda : NULL;
                uint32_t words[16];
                for (ptrdiff_t i = 0; i < count; i++) {
                    words[i] = (uint32_t)round_bf16(low[i]) | (high ? (uint32_t)round_bf16(high[i]) << 16 : 0);
                }
                for (ptrdiff_t i = 0; i < count; i++) memcpy(out + (i0 + i) * depth + p, &words[i], sizeof words[i]);
            }
        }
    }
    memset(out + rows * depth, 0, sizeof(uint16_t) * (size_t)((padded_rows - rows) * depth));
}

static void pack_a_plain(uint16_t *out, int transpose_a, const float *a, ptrdiff_t lda, ptrdiff_t rows,
                         ptrdiff_t padded_rows, ptrdiff_t depth, ptrdiff_t valid) {
    pack_a_body(out, transpose_a, a, lda, rows, padded_rows, depth, valid);
}

#ifdef GPT_X86
GPT_AVX2 static void pack_a_avx2(uint16_t *out, int transpose_a, const float *a, ptrdiff_t lda, ptrdiff_t rows,
                                 ptrdiff_t padded_rows, ptrdiff_t depth, ptrdiff_t valid) {
    pack_a_body(out, transpose_a, a, lda, rows, padded_rows, depth, valid);
}
GPT_AVX512 static void pack_a_avx512(uint16_t *out, int transpose_a, const float *a, ptrdiff_t lda, ptrdiff_t rows,
                                     ptrdiff_t padded_rows, ptrdiff_t depth, ptrdiff_t valid) {
    pack_a_body(out, transpose_a, a, lda, rows, padded_rows, depth, valid);
}
#endif

void gpt_bf16_pack_a(uint16_t *out, int transpose_a, const float *a, ptrdiff_t lda, ptrdiff_t rows,
                     ptrdiff_t padded_rows, ptrdiff_t depth, ptrdiff_t valid) {
    GPT_DISPATCH(3, pack_a_avx512(out, transpose_a, a, lda, rows, padded_rows, depth, valid),
                 pack_a_avx2(out, transpose_a, a, lda, rows, padded_rows, depth, valid),
                 pack_a_plain(out, transpose_a, a, lda, rows, padded_rows, depth, valid));
}

static inline __attribute__((always_inline)) void pack_b_body(
    uint16_t *out, int transpose_b, ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, ptrdiff_t panel_begin,
    ptrdiff_t panel_end) {
    ptrdiff_t kp = gpt_bf16_depth(k), pairs = kp / 2;
    for (ptrdiff_t panel = panel_begin; panel < panel_end; panel++) {
        uint16_t *target = out + panel * pairs * 32;
        ptrdiff_t j0 = panel * 16, columns = n - j0 < 16 ? (n - j0 > 0 ? n - j0 : 0) : 16;
        memset(target, 0, sizeof(uint16_t) * (size_t)(pairs * 32));
        if (transpose_b) {  // op(B)[p][j] = b[j * ldb + p]: each column's pairs are contiguous in its row of b
            for (ptrdiff_t j = 0; j < columns; j++) {
                const float *source = b + (j0 + j) * ldb;
                ptrdiff_t p = 0;
                for (; p + 1 < k; p += 2) {
                    uint32_t word = (uint32_t)round_bf16(source[p]) | (uint32_t)round_bf16(source[p + 1]) << 16;
                    memcpy(target + (p / 2) * 32 + 2 * j, &word, sizeof word);
                }
                if (p < k) target[(p / 2) * 32 + 2 * j] = round_bf16(source[p]);
            }
        } else {  // op(B)[p][j] = b[p * ldb + j]: rows p and p + 1 give the 16 columns' pairs, one word each
            for (ptrdiff_t p = 0; p < k; p += 2) {
                const float *low = b + p * ldb + j0, *high = p + 1 < k ? low + ldb : NULL;
                uint32_t words[16];
                for (ptrdiff_t j = 0; j < columns; j++) {
                    words[j] = (uint32_t)round_bf16(low[j]) | (high ? (uint32_t)round_bf16(high[j]) << 16 : 0);
                }
                memcpy(target + (p / 2) * 32, words, sizeof(uint32_t) * (size_t)columns);
            }
        }
    }
}

static void pack_b_plain(uint16_t *out, int transpose_b, ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb,
                         ptrdiff_t panel_begin, ptrdiff_t panel_end) {
    pack_b_body(out, transpose_b, k, n, b, ldb, panel_begin, panel_end);
}

#ifdef GPT_X86
GPT_AVX2 static void pack_b_avx2(uint16_t *out, int transpose_b, ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb,
                                 ptrdiff_t panel_begin, ptrdiff_t panel_end) {
    pack_b_body(out, transpose_b, k, n, b, ldb, panel_begin, panel_end);
}
GPT_AVX512 static void pack_b_avx512(uint16_t *out, int transpose_b, ptrdiff_t k, ptrdiff_t n, const float *b,
                                     ptrdiff_t ldb, ptrdiff_t panel_begin, ptrdiff_t panel_end) {
    pack_b_body(out, transpose_b, k, n, b, ldb, panel_begin, panel_end);
}
#endif

void gpt_bf16_pack_b(uint16_t *out, int transpose_b, ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb,
                     ptrdiff_t panel_begin, ptrdiff_t panel_end) {
    GPT_DISPATCH(3, pack_b_avx512(out, transpose_b, k, n, b, ldb, panel_begin, panel_end),
                 pack_b_avx2(out, transpose_b, k, n, b, ldb, panel_begin, panel_end),
                 pack_b_plain(out, transpose_b, k, n, b, ldb, panel_begin, panel_end));
}
