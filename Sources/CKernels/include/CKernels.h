#ifndef SWIFT_GPT_CKERNELS_H
#define SWIFT_GPT_CKERNELS_H
// Vector kernels compiled for wider instruction sets than Swift's baseline (x86-64 SSE2), chosen at run time.
// Each function is built for its own target with a function attribute, so the package needs no compiler flags; the
// caller asks `gpt_simd_level()` first and falls back to the portable Swift kernel when it returns 0.

#include <stddef.h>
#include <stdint.h>

/// 0: no kernel here applies (not x86-64, or no AVX2+FMA+F16C); 2: AVX2, FMA and F16C (every AVX2 CPU has the
/// half-precision conversions); 3: AVX-512 F/BW as well.
/// The operating system's support for the wider registers (XSAVE state) is checked, not only the CPU's flags.
int gpt_simd_level(void);
/// The CPU's bfloat16 matrix units: bit 0 AVX512-BF16, bit 1 AMX-BF16 (tiles, with the OS's permission).
int gpt_bf16_units(void);

/// out[r] = (accumulate ? out[r] : 0) + sum_c weight[r * columns + c] * input[c], for r in [row_begin, row_end).
/// weight: fp32 [rows, columns] row-major; input: [columns]; out: [rows]. `level` picks the instruction set (2 or
/// 3), capped at gpt_simd_level(); callers pass 0 only where gpt_simd_level() is 0 (plain C loop).
void gpt_matvec_f32(int level, float *out, const float *weight, const float *input,
                    ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t columns, int accumulate);

/// gpt_matvec_f32 for `m` input rows at once (a batched decoding step): out[i * ldc + r] for i in [0, m) and r in
/// [row_begin, row_end), input row i at input + i * lda. Each weight tile is read once for every input row, and
/// each output equals gpt_matvec_f32's for that row alone, bit for bit.
void gpt_rows_f32(int level, float *out, ptrdiff_t ldc, const float *weight, const float *input, ptrdiff_t lda,
                  ptrdiff_t m, ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t columns, int accumulate);

/// As gpt_matvec_f32, with bfloat16 weights (the top 16 bits of an fp32), widened in registers.
void gpt_matvec_bf16(int level, float *out, const uint16_t *weight, const float *input,
                     ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t columns, int accumulate);

/// Causal attention of one query to `length` cached positions, for query heads [head_begin, head_end), `group` query
/// heads to a key/value head (1 without grouped-query attention). query, out: [heads * head_size]; keys, values:
/// [length, width] (key/value head g owns columns g*head_size..); scores: scratch [heads, length].
/// out[h] = softmax(scale * K_{h/group} q_h) V_{h/group}. A group's heads go through its keys and values together,
/// a block at a time; each head's result is the same, bit for bit, as that head alone.
void gpt_attend_one_query(int level, float *out, float *scores, const float *query, const float *keys,
                          const float *values, ptrdiff_t length, ptrdiff_t head_begin, ptrdiff_t head_end,
                          ptrdiff_t head_size, ptrdiff_t width, float scale, ptrdiff_t group);

/// As gpt_attend_one_query, with keys and values in IEEE half precision (a 16-bit KV cache), widened in registers:
/// the same result as gpt_attend_one_query over their fp32 values, bit for bit, at the same level.
void gpt_attend_one_query_f16(int level, float *out, float *scores, const float *query, const uint16_t *keys,
                              const uint16_t *values, ptrdiff_t length, ptrdiff_t head_begin, ptrdiff_t head_end,
                              ptrdiff_t head_size, ptrdiff_t width, float scale, ptrdiff_t group);

/// out[i] = the half-precision bit pattern nearest input[i] (ties to even, overflow to infinity), i in [0, count).
void gpt_round_to_f16(int level, uint16_t *out, const float *input, ptrdiff_t count);

/// out[i] = the fp32 value of the half-precision bit pattern input[i] (exact), i in [0, count).
void gpt_widen_f16(int level, float *out, const uint16_t *input, ptrdiff_t count);

/// out[j] = exp(input[j] - shift) for j in [0, count), returning their sum (the softmax's denominator). out may be
/// input. Vector paths use a degree-6 polynomial (within 2 ulp of expf); exp of anything below -87.3 is 0.
float gpt_exp_shifted(int level, float *out, const float *input, ptrdiff_t count, float shift);

/// out[j] = GELU in its tanh form of input[j] for j in [0, count), computed as v / (1 + exp(-2u)) with
/// u = sqrt(2/pi) (v + 0.044715 v^3) and the exp above (within a few ulp of the tanh form in fp32). out may be input.
void gpt_gelu_tanh(int level, float *out, const float *input, ptrdiff_t count);

/// Row-major C = alpha op(A) op(B) + beta C (+ bias) (then max(0, .) when `relu`) on the calling thread, C [m, n];
/// A is [m, k] ([k, m] when transpose_a), B is [k, n] ([n, k] when transpose_b), bias is [n] or NULL; C is not read
/// when beta is 0. A transposed B (and a narrow last panel) is packed into a buffer of the thread's own; everything
/// else is read in place. Returns 0 (and does nothing) when `level` is below 2, a size is not positive, or the
/// buffer cannot be allocated: the caller then uses its Swift kernel.
int gpt_sgemm(int level, int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
              const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc,
              const float *bias, int relu);

/// The bfloat16 bit pattern nearest to x (ties to even; a NaN stays a quiet NaN).
uint16_t gpt_bf16_round(float x);
/// The depth k rounded up to the kernels' multiple of 32 (the packed operands are zero past k).
ptrdiff_t gpt_bf16_depth(ptrdiff_t k);
/// Elements (uint16) of op(B) [k, n] packed by gpt_bf16_pack_b: n rounded up to 32 times gpt_bf16_depth(k).
ptrdiff_t gpt_bf16_packed_b_count(ptrdiff_t k, ptrdiff_t n);
/// Rounds op(B) [k, n] (B is [k, n], or [n, k] when transpose_b, row stride ldb) to bfloat16 "VNNI" panels of 16
/// columns, panels [panel_begin, panel_end) of the n / 16 rounded up to even: element (p * kp / 2 + r) * 32 + 2 j + e
/// is op(B)[2r + e][16 p + j] (zero past k and n), kp = gpt_bf16_depth(k). Panels may be packed by several threads.
void gpt_bf16_pack_b(uint16_t *out, int transpose_b, ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb,
                     ptrdiff_t panel_begin, ptrdiff_t panel_end);
/// Rounds `rows` rows of op(A) and `valid` of its depth to bfloat16, row-major [padded_rows][depth], zero past
/// `valid` and past `rows`. a points at op(A)'s first element: A [rows, .] (stride lda), or [depth, rows] when
/// transpose_a.
void gpt_bf16_pack_a(uint16_t *out, int transpose_a, const float *a, ptrdiff_t lda, ptrdiff_t rows,
                     ptrdiff_t padded_rows, ptrdiff_t depth, ptrdiff_t valid);
/// Whether a bfloat16 kernel runs here: 1 AVX2 (operands widened to fp32, FMA: AVX512-BF16's sums on any AVX2 CPU),
/// 2 AVX512-BF16 (vdpbf16ps), 3 AMX (tdpbf16ps tiles), 4 and 5 the kernels of 2 and 3 with each instruction written
/// out in C (for tests; slow).
int gpt_bf16_kernel_available(int kernel);
/// Row-major C = alpha op(A) op(B) + beta C (+ bias) (then max(0, .) when relu) on the calling thread, with op(A)
/// [m, k] (A [m, k], or [k, m] when transpose_a, stride lda) rounded to bfloat16 block by block and op(B) packed by
/// gpt_bf16_pack_b (a pointer j0 * gpt_bf16_depth(k) elements in, for columns from a multiple of 32 j0); products
/// accumulate in fp32. C is not read when beta is 0. Returns 0 (and does nothing) when the kernel is not available,
/// a size is not positive or the buffer cannot be allocated.
int gpt_bf16_gemm(int kernel, int transpose_a, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                  ptrdiff_t lda, const uint16_t *packed_b, float beta, float *c, ptrdiff_t ldc, const float *bias,
                  int relu);
/// gpt_bf16_gemm on a B packed for a greater depth (packed_depth = gpt_bf16_depth of the k it was packed with, at
/// least gpt_bf16_depth(k)): op(B)'s first k rows of it. For a head's keys or values rounded once for all of its row
/// blocks, each block multiplying by a prefix of them.
int gpt_bf16_gemm_packed(int kernel, int transpose_a, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                         const float *a, ptrdiff_t lda, const uint16_t *packed_b, ptrdiff_t packed_depth, float beta,
                         float *c, ptrdiff_t ldc, const float *bias, int relu);

/// One AdamW update of `count` elements, with the gradient g = g_stored * gradient_scale (a clipping factor, or 1):
/// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p = p * decay - step_size * m / (sqrt(v) / root_correction2 +
/// epsilon). Same operations and order as the Swift loop in AdamWKernel.swift, 16 or 8 lanes at a time.
void gpt_adamw(int level, float *p, const float *g, float *m, float *v, ptrdiff_t count, float gradient_scale,
               float beta1, float beta2, float step_size, float root_correction2, float epsilon, float decay);

/// Layer normalisation of `rows` rows of `columns`: out = (x - mean) * rstd * weight (+ bias, when not NULL), saving
/// each row's mean and rstd = 1 / sqrt(biased variance + epsilon). level 0 is a plain C loop.
void gpt_layer_norm_forward(int level, float *out, float *mean, float *rstd, const float *input, const float *weight,
                            const float *bias, ptrdiff_t rows, ptrdiff_t columns, float epsilon);

/// Its backward over `rows` rows: dx (+)= rstd (dn - mean(dn) - xh mean(dn xh)) with xh the normalised input and
/// dn = dy weight (dx written, not added to, when `accumulate` is 0; skipped when NULL); dw += sum over rows of
/// dy xh and db += sum of dy, when not NULL.
void gpt_layer_norm_backward(int level, float *dx, int accumulate, float *dw, float *db, const float *dy,
                             const float *input, const float *weight, const float *mean, const float *rstd,
                             ptrdiff_t rows, ptrdiff_t columns);

/// The softmax rows [first, last) of a block of causal attention scores, in place: row i sits at
/// block + (i - first) * stride, uses columns 0...i and is zeroed from i + 1 to `last`. With `recompute` 0 it becomes
/// the softmax and log_sum_exp[i] = max + log(sum of exp) is saved; with 1 it becomes exp(row - log_sum_exp[i]).
void gpt_causal_softmax_rows(int level, float *block, ptrdiff_t stride, ptrdiff_t first, ptrdiff_t last,
                             float *log_sum_exp, int recompute);

/// The softmax's backward for the same rows: gradient[j] = p[j] (gradient[j] - Σ_k gradient[k] p[k]) over
/// columns 0...i (dP to dS in place), zeroed from i + 1 to `last`. `probabilities` has the same layout.
void gpt_causal_softmax_backward_rows(int level, float *gradient, const float *probabilities, ptrdiff_t stride,
                                      ptrdiff_t first, ptrdiff_t last);

/// This thread's context pointer (a Swift `GradientShard` while one collects on this thread), or NULL.
void *gpt_thread_context(void);
/// Sets this thread's context pointer; pass NULL to clear it.
void gpt_set_thread_context(void *context);

// MARK: 8-bit weights (Q8_0)
// A weight [rows, columns] in Q8_0 is `quants`, uint8 [rows, blocks * 32] (blocks = ceil(columns / 32), each row
// padded with zeros), holding q + 128, and `scales`, fp16 bits [rows, blocks]: element (r, c) is
// d[r, c / 32] * q[r, c], q in [-127, 127] (llama.cpp's block_q8_0 with its int8 quants xor 0x80). Activations are
// quantised per product the same way, kept signed with fp32 scales and each block's sum.

/// The fp16 bit pattern nearest to x (ties to even; past 65504 infinity), and its inverse.
uint16_t gpt_f16_round(float x);
float gpt_f16_to_f32(uint16_t bits);

/// Quantises rows [row_begin, row_end) of a row-major fp32 weight [rows, columns] as llama.cpp's
/// quantize_row_q8_0_ref does: per block of 32, d = max|x| / 127 (stored as fp16), q = roundf(x / d) (0 where d
/// is 0), stored as q + 128.
void gpt_q8_quantize_weights(uint8_t *quants, uint16_t *scales, const float *source, ptrdiff_t row_begin,
                             ptrdiff_t row_end, ptrdiff_t columns);

/// Quantises the activations source [rows, columns] the same way into quants [rows, blocks * 32] (signed), scales
/// [rows, blocks] (fp32, not rounded to fp16) and sums [rows, blocks] (128 times the block's sum of q).
void gpt_q8_quantize_activations(int8_t *quants, float *scales, float *sums, const float *source, ptrdiff_t rows,
                                 ptrdiff_t columns);

/// out [rows, columns] (rows [row_begin, row_end)) = the fp32 values of a Q8_0 weight.
void gpt_q8_dequantize_rows(float *out, const uint8_t *quants, const uint16_t *scales, ptrdiff_t row_begin,
                            ptrdiff_t row_end, ptrdiff_t columns);

/// The kernel gpt_q8_gemm runs at `level` (capped at gpt_simd_level()): 3 AVX512-VNNI, 2 AVX2, 0 plain C.
int gpt_q8_kernel(int level);

/// c[i, r] = (accumulate ? c[i, r] : 0) + sum over blocks b of wd[r, b] as[i, b] (q_w[r, b] . aq[i, b]) for
/// activation rows i < m and weight rows r in [row_begin, row_end): the activations from
/// gpt_q8_quantize_activations (aq, as, sums), the weight from gpt_q8_quantize_weights (wq, wd); c row-major with
/// row stride ldc. Each block's int8 products are summed exactly in int32. m = 1 is a decoding step's product.
void gpt_q8_gemm(int level, float *c, ptrdiff_t ldc, const int8_t *aq, const float *as, const float *sums,
                 ptrdiff_t m, const uint8_t *wq, const uint16_t *wd, ptrdiff_t row_begin, ptrdiff_t row_end,
                 ptrdiff_t blocks, int accumulate);

/// Bytes held by every thread's kernel scratch buffers (``gpt_thread_buffer``), which are freed as their thread
/// ends: what a server that starts and ends threads can check for growth.
size_t gpt_thread_buffer_bytes(void);

/// Atomically adds 1 to `*counter` and returns its previous value: how threads claim the next piece of shared work.
static inline ptrdiff_t gpt_claim_next(ptrdiff_t *counter) {
    return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/// Makes the C standard output line-buffered, so each printed line reaches a pipe or file at once.
void gpt_line_buffer_standard_output(void);

#endif
