// Layer normalisation over rows, forward and backward, vectorized (see CKernels.h).
#include <math.h>
#include "CKernels.h"
#include "Internal.h"

/// Horizontal sums of a vector, for the macro below.
#ifdef GPT_X86
#define GPT_REDUCE_512(v) _mm512_reduce_add_ps(v)
#define GPT_REDUCE_256(v) gpt_reduce_add_256(v)
#endif

/// Defines `name_forward` and `name_backward`, WIDTH lanes per step with a scalar tail. Sums run in WIDTH lanes and
/// are reduced at the end of each row; WIDTH 1 (the plain C version) uses float scalars for every "vector".
#define GPT_DEFINE_LAYER_NORM(name, attributes, vector, WIDTH, set1, load, store, add, sub, mul, fmadd, reduce)    \
    attributes static void name##_forward(float *out, float *mean, float *rstd, const float *input,              \
                                          const float *weight, const float *bias, ptrdiff_t rows,                \
                                          ptrdiff_t columns, float epsilon) {                                    \
        ptrdiff_t full = columns / WIDTH * WIDTH;                                                                \
        for (ptrdiff_t r = 0; r < rows; r++) {                                                                   \
            const float *x = input + r * columns;                                                                \
            float *y = out + r * columns;                                                                        \
            vector lanes = set1(0);                                                                              \
            for (ptrdiff_t j = 0; j < full; j += WIDTH) lanes = add(lanes, load(x + j));                         \
            float sum = reduce(lanes);                                                                           \
            for (ptrdiff_t j = full; j < columns; j++) sum += x[j];                                              \
            float mu = sum / (float)columns;                                                                     \
            vector centre = set1(mu);                                                                            \
            lanes = set1(0);                                                                                     \
            for (ptrdiff_t j = 0; j < full; j += WIDTH) {                                                        \
                vector d = sub(load(x + j), centre);                                                             \
                lanes = fmadd(d, d, lanes);                                                                      \
            }                                                                                                    \
            float squares = reduce(lanes);                                                                       \
            for (ptrdiff_t j = full; j < columns; j++) squares += (x[j] - mu) * (x[j] - mu);                     \
            float s = 1.0f / sqrtf(squares / (float)columns + epsilon);                                          \
            vector scale = set1(s);                                                                              \
            for (ptrdiff_t j = 0; j < full; j += WIDTH) {                                                        \
                vector normed = mul(mul(sub(load(x + j), centre), scale), load(weight + j));                     \
                store(y + j, bias ? add(normed, load(bias + j)) : normed);                                       \
            }                                                                                                    \
            for (ptrdiff_t j = full; j < columns; j++)                                                           \
                y[j] = (x[j] - mu) * s * weight[j] + (bias ? bias[j] : 0);                                       \
            mean[r] = mu;                                                                                        \
            rstd[r] = s;                                                                                         \
        }                                                                                                        \
    }                                                                                                            \
    attributes static void name##_backward(float *dx, int accumulate, float *dw, float *db, const float *dy,     \
                                           const float *input, const float *weight, const float *mean,           \
                                           const float *rstd, ptrdiff_t rows, ptrdiff_t columns) {               \
        ptrdiff_t full = columns / WIDTH * WIDTH;                                                                \
        for (ptrdiff_t r = 0; r < rows; r++) {                                                                   \
            const float *x = input + r * columns, *g = dy + r * columns;                                         \
            float mu = mean[r], s = rstd[r];                                                                     \
            vector centre = set1(mu), scale = set1(s), sum_lanes = set1(0), dot_lanes = set1(0);                 \
            for (ptrdiff_t j = 0; j < full; j += WIDTH) {                                                        \
                vector xh = mul(sub(load(x + j), centre), scale), gj = load(g + j);                              \
                vector dn = mul(gj, load(weight + j));                                                           \
                sum_lanes = add(sum_lanes, dn);                                                                  \
                dot_lanes = fmadd(dn, xh, dot_lanes);                                                            \
                if (dw) store(dw + j, fmadd(gj, xh, load(dw + j)));                                              \
                if (db) store(db + j, add(load(db + j), gj));                                                    \
            }                                                                                                    \
            float sum = reduce(sum_lanes), dot = reduce(dot_lanes);                                              \
            for (ptrdiff_t j = full; j < columns; j++) {                                                         \
                float xh = (x[j] - mu) * s, dn = g[j] * weight[j];                                               \
                sum += dn;                                                                                       \
                dot += dn * xh;                                                                                  \
                if (dw) dw[j] += g[j] * xh;                                                                      \
                if (db) db[j] += g[j];                                                                           \
            }                                                                                                    \
            if (!dx) continue;                                                                                   \
            float mean_dn = sum / (float)columns, mean_dn_xh = dot / (float)columns;                             \
            vector m1 = set1(mean_dn), m2 = set1(mean_dn_xh);                                                    \
            float *d = dx + r * columns;                                                                         \
            for (ptrdiff_t j = 0; j < full; j += WIDTH) {                                                        \
                vector xh = mul(sub(load(x + j), centre), scale);                                                \
                vector dn = mul(load(g + j), load(weight + j));                                                  \
                vector value = mul(scale, sub(sub(dn, m1), mul(xh, m2)));                                        \
                store(d + j, accumulate ? add(load(d + j), value) : value);                                      \
            }                                                                                                    \
            for (ptrdiff_t j = full; j < columns; j++) {                                                         \
                float xh = (x[j] - mu) * s, dn = g[j] * weight[j];                                               \
                float value = s * (dn - mean_dn - xh * mean_dn_xh);                                              \
                d[j] = accumulate ? d[j] + value : value;                                                        \
            }                                                                                                    \
        }                                                                                                        \
    }

static inline float scalar_set1(float x) { return x; }
static inline float scalar_load(const float *p) { return *p; }
static inline void scalar_store(float *p, float x) { *p = x; }
static inline float scalar_add(float a, float b) { return a + b; }
static inline float scalar_sub(float a, float b) { return a - b; }
static inline float scalar_mul(float a, float b) { return a * b; }
static inline float scalar_fmadd(float a, float b, float c) { return a * b + c; }
static inline float scalar_reduce(float x) { return x; }

GPT_DEFINE_LAYER_NORM(plain, , float, 1, scalar_set1, scalar_load, scalar_store, scalar_add, scalar_sub, scalar_mul,
                      scalar_fmadd, scalar_reduce)
#ifdef GPT_X86
GPT_DEFINE_LAYER_NORM(avx512, GPT_AVX512, __m512, 16, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps,
                      _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_fmadd_ps, GPT_REDUCE_512)
GPT_DEFINE_LAYER_NORM(avx2, GPT_AVX2, __m256, 8, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps,
                      _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps, _mm256_fmadd_ps, GPT_REDUCE_256)
#endif

void gpt_layer_norm_forward(int level, float *out, float *mean, float *rstd, const float *input, const float *weight,
                            const float *bias, ptrdiff_t rows, ptrdiff_t columns, float epsilon) {
    GPT_DISPATCH(level, avx512_forward(out, mean, rstd, input, weight, bias, rows, columns, epsilon),
                 avx2_forward(out, mean, rstd, input, weight, bias, rows, columns, epsilon),
                 plain_forward(out, mean, rstd, input, weight, bias, rows, columns, epsilon));
}

void gpt_layer_norm_backward(int level, float *dx, int accumulate, float *dw, float *db, const float *dy,
                             const float *input, const float *weight, const float *mean, const float *rstd,
                             ptrdiff_t rows, ptrdiff_t columns) {
    GPT_DISPATCH(level, avx512_backward(dx, accumulate, dw, db, dy, input, weight, mean, rstd, rows, columns),
                 avx2_backward(dx, accumulate, dw, db, dy, input, weight, mean, rstd, rows, columns),
                 plain_backward(dx, accumulate, dw, db, dy, input, weight, mean, rstd, rows, columns));
}
