// The AdamW update, vectorized (see CKernels.h).
#include <math.h>
#include "CKernels.h"
#include "Internal.h"

static void plain_adamw(float *p, const float *g, float *m, float *v, ptrdiff_t begin, ptrdiff_t count,
                        float gradient_scale, float beta1, float beta2, float step_size, float root_correction2,
                        float epsilon, float decay) {
    for (ptrdiff_t i = begin; i < count; i++) {
        float gradient = g[i] * gradient_scale;
        p[i] *= decay;
        m[i] = beta1 * m[i] + (1 - beta1) * gradient;
        v[i] = beta2 * v[i] + (1 - beta2) * gradient * gradient;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / root_correction2 + epsilon);
    }
}

#ifdef GPT_X86

/// Defines `name`, WIDTH lanes per step, the tail left to the plain loop.
#define GPT_DEFINE_ADAMW(name, attributes, vector, WIDTH, set1, load, store, add, sub, mul, div, sqrt)          \
    attributes static void name(float *p, const float *g, float *m, float *v, ptrdiff_t count,                    \
                                float gradient_scale, float beta1, float beta2, float step_size,              \
                                float root_correction2, float epsilon, float decay) {                          \
        vector b1 = set1(beta1), c1 = set1(1 - beta1), b2 = set1(beta2), c2 = set1(1 - beta2);                   \
        vector lr = set1(step_size), root = set1(root_correction2), eps = set1(epsilon), keep = set1(decay);      \
        vector clip = set1(gradient_scale);                                                                      \
        ptrdiff_t i = 0;                                                                                         \
        for (; i + WIDTH <= count; i += WIDTH) {                                                                 \
            vector gradient = mul(load(g + i), clip);                                                            \
            vector first = add(mul(b1, load(m + i)), mul(c1, gradient));                                         \
            vector second = add(mul(b2, load(v + i)), mul(mul(c2, gradient), gradient));                         \
            vector update = div(mul(lr, first), add(div(sqrt(second), root), eps));                              \
            store(p + i, sub(mul(load(p + i), keep), update));                                                   \
            store(m + i, first);                                                                                 \
            store(v + i, second);                                                                                \
        }                                                                                                        \
        plain_adamw(p, g, m, v, i, count, gradient_scale, beta1, beta2, step_size, root_correction2, epsilon,     \
                    decay);                                                                                      \
    }

GPT_DEFINE_ADAMW(adamw_avx512, GPT_AVX512, __m512, 16, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps,
                 _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_div_ps, _mm512_sqrt_ps)
GPT_DEFINE_ADAMW(adamw_avx2, GPT_AVX2, __m256, 8, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps,
                 _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps, _mm256_div_ps, _mm256_sqrt_ps)

#endif

void gpt_adamw(int level, float *p, const float *g, float *m, float *v, ptrdiff_t count, float gradient_scale,
               float beta1, float beta2, float step_size, float root_correction2, float epsilon, float decay) {
    GPT_DISPATCH(level,
                 adamw_avx512(p, g, m, v, count, gradient_scale, beta1, beta2, step_size, root_correction2, epsilon,
                              decay),
                 adamw_avx2(p, g, m, v, count, gradient_scale, beta1, beta2, step_size, root_correction2, epsilon,
                            decay),
                 plain_adamw(p, g, m, v, 0, count, gradient_scale, beta1, beta2, step_size, root_correction2, epsilon,
                             decay));
}
