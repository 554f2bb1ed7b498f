// The bfloat16 micro-kernels' source, written once as macros over a handful of instructions, so that the same text
// is compiled with the real instructions (AVX512-BF16's vdpbf16ps, AMX's tiles) and with each instruction written
// out in plain C: the tests run the written-out copies on any machine, the real ones where the CPU has them.
//
// Layouts shared by every kernel (see BFloat16GEMM.c):
// - A block: bf16 row-major [rows][depth], depth a multiple of 32, zero past the product's k and past its last row.
// - B: "VNNI" panels of 16 columns. Panel p holds, for each pair r of rows (2r, 2r + 1) of op(B), the 16 columns'
//   pairs side by side: element (p * kp / 2 + r) * 32 + 2 j + e is op(B)[2r + e][16 p + j]. Panels come in twos.
// - Tile: the kernel's fp32 result, [rows][32] with row stride tile_stride: C itself where a whole tile of it is
//   wanted as it is (alpha 1, no bias or ReLU), else a buffer the driver merges into C; with `accumulate` the products
//   are added to what the tile holds, else they replace it.
#ifndef SWIFT_GPT_BF16_KERNELS_H
#define SWIFT_GPT_BF16_KERNELS_H
#include "Internal.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/// tile[rows][32] (row stride tile_stride) (+)= A block rows (stride a_stride) x the two panels b0, b1 over `pairs`
/// pairs of depth.
typedef void (*gpt_bf16_micro_kernel)(const uint16_t *a, ptrdiff_t a_stride, const uint16_t *b0, const uint16_t *b1,
                                      ptrdiff_t pairs, float *tile, ptrdiff_t tile_stride, int accumulate);

/// The dot-product kernel: `rows` rows of A against 32 columns, one accumulator of 16 fp32 lanes per row and panel.
/// For each pair r, each row's pair (A[i][2r], A[i][2r + 1]) is broadcast to every lane and `dot` adds both its
/// products with the panel's pair in that lane: vdpbf16ps, lane j: acc += a1 b1, then acc += a0 b0.
#define GPT_DEFINE_BF16_DOT_KERNEL(name, attributes, rows, acc_t, ops_t, zero, load_acc, load_ops, broadcast_pair,  \
                                   dot, store_acc)                                                                   \
    attributes static void name(const uint16_t *a, ptrdiff_t a_stride, const uint16_t *b0, const uint16_t *b1,     \
                                ptrdiff_t pairs, float *tile, ptrdiff_t tile_stride, int accumulate) {              \
        acc_t acc[rows][2];                                                                                          \
        GPT_UNROLL for (int i = 0; i < rows; i++) {                                                                  \
            acc[i][0] = accumulate ? load_acc(tile + tile_stride * i) : zero();                                      \
            acc[i][1] = accumulate ? load_acc(tile + tile_stride * i + 16) : zero();                                 \
        }                                                                                                            \
        for (ptrdiff_t r = 0; r < pairs; r++) {                                                                      \
            ops_t x0 = load_ops(b0 + 32 * r), x1 = load_ops(b1 + 32 * r);                                            \
            GPT_UNROLL for (int i = 0; i < rows; i++) {                                                              \
                ops_t y = broadcast_pair(a + i * a_stride + 2 * r);                                                  \
                acc[i][0] = dot(acc[i][0], y, x0);                                                                   \
                acc[i][1] = dot(acc[i][1], y, x1);                                                                   \
            }                                                                                                        \
        }                                                                                                            \
        GPT_UNROLL for (int i = 0; i < rows; i++) {                                                                  \
            store_acc(tile + tile_stride * i, acc[i][0]);                                                            \
            store_acc(tile + tile_stride * i + 16, acc[i][1]);                                                       \
        }                                                                                                            \
    }

/// The AMX kernel: 32 rows x 32 columns as 2 x 2 accumulator tiles (0-3, 16 x 16 fp32 each), with two A tiles (4, 5:
/// 16 rows x 32 bf16 of depth) and two B tiles (6, 7: 16 pairs x 16 columns) per 32 of depth. Every tile is
/// configured 16 rows of 64 bytes (gpt_amx_tile_config); `pairs` is a multiple of 16.
#define GPT_DEFINE_BF16_TILE_KERNEL(name, attributes, tile_zero, tile_load, tile_dot, tile_store)                    \
    attributes static void name(const uint16_t *a, ptrdiff_t a_stride, const uint16_t *b0, const uint16_t *b1,     \
                                ptrdiff_t pairs, float *tile, ptrdiff_t tile_stride, int accumulate) {              \
        if (accumulate) {                                                                                            \
            tile_load(0, tile, 4 * tile_stride);                                                                     \
            tile_load(1, tile + 16, 4 * tile_stride);                                                                \
            tile_load(2, tile + 16 * tile_stride, 4 * tile_stride);                                                  \
            tile_load(3, tile + 16 * tile_stride + 16, 4 * tile_stride);                                             \
        } else {                                                                                                     \
            tile_zero(0);                                                                                            \
            tile_zero(1);                                                                                            \
            tile_zero(2);                                                                                            \
            tile_zero(3);                                                                                            \
        }                                                                                                            \
        for (ptrdiff_t r = 0; r < pairs; r += 16) {                                                                  \
            tile_load(4, a + 2 * r, 2 * a_stride);                                                                   \
            tile_load(5, a + 16 * a_stride + 2 * r, 2 * a_stride);                                                   \
            tile_load(6, b0 + 32 * r, 64);                                                                           \
            tile_load(7, b1 + 32 * r, 64);                                                                           \
            tile_dot(0, 4, 6);                                                                                       \
            tile_dot(1, 4, 7);                                                                                       \
            tile_dot(2, 5, 6);                                                                                       \
            tile_dot(3, 5, 7);                                                                                       \
        }                                                                                                            \
        tile_store(0, tile, 4 * tile_stride);                                                                        \
        tile_store(1, tile + 16, 4 * tile_stride);                                                                   \
        tile_store(2, tile + 16 * tile_stride, 4 * tile_stride);                                                     \
        tile_store(3, tile + 16 * tile_stride + 16, 4 * tile_stride);                                                \
    }

/// ldtilecfg's 64-byte operand: palette 1, and each tile's rows and bytes per row.
typedef struct __attribute__((aligned(64))) {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} gpt_amx_tile_config;

/// Tiles 0-7 as the AMX kernel uses them: 16 rows of 64 bytes.
static inline gpt_amx_tile_config gpt_amx_tile_config_make(void) {
    gpt_amx_tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) {
        config.bytes_per_row[t] = 64;
        config.rows[t] = 16;
    }
    return config;
}

// MARK: - The instructions written out in C (as the Intel SDM's pseudo-code states them; denormals not flushed)

typedef struct { float f[16]; } gpt_emulated_acc;
typedef struct { uint16_t h[32]; } gpt_emulated_ops;

static inline gpt_emulated_acc gpt_emulated_zero(void) {
    gpt_emulated_acc v;
    memset(&v, 0, sizeof v);
    return v;
}
static inline gpt_emulated_ops gpt_emulated_load(const uint16_t *p) {
    gpt_emulated_ops v;
    memcpy(v.h, p, sizeof v.h);
    return v;
}
static inline gpt_emulated_ops gpt_emulated_broadcast_pair(const uint16_t *p) {
    gpt_emulated_ops v;
    for (int j = 0; j < 16; j++) { v.h[2 * j] = p[0]; v.h[2 * j + 1] = p[1]; }
    return v;
}
/// vdpbf16ps: lane j += a.bf16[2j+1] b.bf16[2j+1], then += a.bf16[2j] b.bf16[2j] (each product exact in fp32).
static inline gpt_emulated_acc gpt_emulated_dot(gpt_emulated_acc acc, gpt_emulated_ops a, gpt_emulated_ops b) {
    for (int j = 0; j < 16; j++) {
        float t = acc.f[j];
        t += gpt_bf16_to_f32(a.h[2 * j + 1]) * gpt_bf16_to_f32(b.h[2 * j + 1]);
        t += gpt_bf16_to_f32(a.h[2 * j]) * gpt_bf16_to_f32(b.h[2 * j]);
        acc.f[j] = t;
    }
    return acc;
}
static inline void gpt_emulated_store(float *p, gpt_emulated_acc v) { memcpy(p, v.f, sizeof v.f); }
static inline gpt_emulated_acc gpt_emulated_load_acc(const float *p) {
    gpt_emulated_acc v;
    memcpy(v.f, p, sizeof v.f);
    return v;
}

/// The tile registers of this thread, as ldtilecfg configured them.
typedef struct { int rows, bytes_per_row; uint8_t data[16 * 64]; } gpt_emulated_tile;
extern _Thread_local gpt_emulated_tile gpt_emulated_tiles[8];

static inline void gpt_emulated_tile_configure(const gpt_amx_tile_config *config) {
    for (int t = 0; t < 8; t++) {
        gpt_emulated_tiles[t].rows = config->rows[t];
        gpt_emulated_tiles[t].bytes_per_row = config->bytes_per_row[t];
        memset(gpt_emulated_tiles[t].data, 0, sizeof gpt_emulated_tiles[t].data);
    }
}
static inline void gpt_emulated_tile_zero(int t) { memset(gpt_emulated_tiles[t].data, 0, 16 * 64); }
/// tileloadd: row r of the tile is the configured bytes at base + r * stride.
static inline void gpt_emulated_tile_load(int t, const void *base, ptrdiff_t stride) {
    gpt_emulated_tile *tile = &gpt_emulated_tiles[t];
    memset(tile->data, 0, sizeof tile->data);
    for (int r = 0; r < tile->rows; r++) memcpy(tile->data + 64 * r, (const uint8_t *)base + r * stride, tile->bytes_per_row);
}
static inline void gpt_emulated_tile_store(int t, void *base, ptrdiff_t stride) {
    const gpt_emulated_tile *tile = &gpt_emulated_tiles[t];
    for (int r = 0; r < tile->rows; r++) memcpy((uint8_t *)base + r * stride, tile->data + 64 * r, tile->bytes_per_row);
}
/// tdpbf16ps c, a, b: c.fp32[m][n] += a.bf16[m][2k] b.bf16[k][2n] + a.bf16[m][2k+1] b.bf16[k][2n+1], k over
/// a's bytes per row / 4 (which must be b's rows), n over c's bytes per row / 4.
static inline void gpt_emulated_tile_dot(int c, int a, int b) {
    gpt_emulated_tile *out = &gpt_emulated_tiles[c];
    const gpt_emulated_tile *left = &gpt_emulated_tiles[a], *right = &gpt_emulated_tiles[b];
    for (int m = 0; m < out->rows; m++) {
        float row[16];
        memcpy(row, out->data + 64 * m, sizeof row);
        const uint16_t *x = (const uint16_t *)(left->data + 64 * m);
        for (int k = 0; k < left->bytes_per_row / 4; k++) {
            const uint16_t *y = (const uint16_t *)(right->data + 64 * k);
            for (int n = 0; n < out->bytes_per_row / 4; n++) {
                row[n] += gpt_bf16_to_f32(x[2 * k]) * gpt_bf16_to_f32(y[2 * n]);
                row[n] += gpt_bf16_to_f32(x[2 * k + 1]) * gpt_bf16_to_f32(y[2 * n + 1]);
            }
        }
        memcpy(out->data + 64 * m, row, sizeof row);
    }
}

#endif
