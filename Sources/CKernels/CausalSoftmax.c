// The row softmaxes of causal attention, forward and backward, a block of rows per call (see CKernels.h).
#include <math.h>
#include <string.h>
#include "CKernels.h"
#include "Internal.h"

#ifdef GPT_X86
/// The mask of the first `count` (at most 16) lanes.
static inline __mmask16 first_lanes(ptrdiff_t count) { return (__mmask16)((1u << count) - 1); }

GPT_AVX512 static float max_avx512(const float *row, ptrdiff_t count) {
    __m512 best = _mm512_set1_ps(-INFINITY);
    ptrdiff_t j = 0;
    for (; j + 16 <= count; j += 16) best = _mm512_max_ps(best, _mm512_loadu_ps(row + j));
    if (j < count) best = _mm512_mask_max_ps(best, first_lanes(count - j), best, _mm512_loadu_ps(row + j));
    return _mm512_reduce_max_ps(best);
}

GPT_AVX512 static void scale_avx512(float *row, ptrdiff_t count, float factor) {
    __m512 f = _mm512_set1_ps(factor);
    ptrdiff_t j = 0;
    for (; j + 16 <= count; j += 16) _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), f));
    if (j < count) {
        __mmask16 tail = first_lanes(count - j);
        _mm512_mask_storeu_ps(row + j, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + j), f));
    }
}

/// d[j] = p[j] (d[j] - Σ_k d[k] p[k]) for j < count.
GPT_AVX512 static void softmax_gradient_avx512(float *d, const float *p, ptrdiff_t count) {
    __m512 sum = _mm512_setzero_ps();
    ptrdiff_t j = 0;
    for (; j + 16 <= count; j += 16) sum = _mm512_fmadd_ps(_mm512_loadu_ps(d + j), _mm512_loadu_ps(p + j), sum);
    if (j < count) {
        __mmask16 tail = first_lanes(count - j);
        sum = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, d + j), _mm512_maskz_loadu_ps(tail, p + j), sum);
    }
    __m512 weighted = _mm512_set1_ps(_mm512_reduce_add_ps(sum));
    for (j = 0; j + 16 <= count; j += 16) {
        __m512 pj = _mm512_loadu_ps(p + j);
        _mm512_storeu_ps(d + j, _mm512_mul_ps(pj, _mm512_sub_ps(_mm512_loadu_ps(d + j), weighted)));
    }
    if (j < count) {
        __mmask16 tail = first_lanes(count - j);
        __m512 pj = _mm512_maskz_loadu_ps(tail, p + j), dj = _mm512_maskz_loadu_ps(tail, d + j);
        _mm512_mask_storeu_ps(d + j, tail, _mm512_mul_ps(pj, _mm512_sub_ps(dj, weighted)));
    }
}
#endif

static float max_plain(const float *row, ptrdiff_t count) {
    float best = -INFINITY;
    for (ptrdiff_t j = 0; j < count; j++) best = row[j] > best ? row[j] : best;
    return best;
}

static void scale_plain(float *row, ptrdiff_t count, float factor) {
    for (ptrdiff_t j = 0; j < count; j++) row[j] *= factor;
}

static void softmax_gradient_plain(float *d, const float *p, ptrdiff_t count) {
    float weighted = 0;
    for (ptrdiff_t j = 0; j < count; j++) weighted += d[j] * p[j];
    for (ptrdiff_t j = 0; j < count; j++) d[j] = p[j] * (d[j] - weighted);
}

void gpt_causal_softmax_rows(int level, float *block, ptrdiff_t stride, ptrdiff_t first, ptrdiff_t last,
                             float *log_sum_exp, int recompute) {
    for (ptrdiff_t i = first; i < last; i++) {
        float *row = block + (i - first) * stride;
        ptrdiff_t count = i + 1;
        if (recompute) {
            gpt_exp_shifted(level, row, row, count, log_sum_exp[i]);
        } else {
            float maximum;
            GPT_DISPATCH(level, maximum = max_avx512(row, count), maximum = max_plain(row, count),
                         maximum = max_plain(row, count));
            float total = gpt_exp_shifted(level, row, row, count, maximum), inverse = 1.0f / total;
            GPT_DISPATCH(level, scale_avx512(row, count, inverse), scale_plain(row, count, inverse),
                         scale_plain(row, count, inverse));
            log_sum_exp[i] = maximum + logf(total);
        }
        if (last > count) memset(row + count, 0, sizeof(float) * (size_t)(last - count));
    }
}

void gpt_causal_softmax_backward_rows(int level, float *gradient, const float *probabilities, ptrdiff_t stride,
                                      ptrdiff_t first, ptrdiff_t last) {
    for (ptrdiff_t i = first; i < last; i++) {
        float *d = gradient + (i - first) * stride;
        const float *p = probabilities + (i - first) * stride;
        ptrdiff_t count = i + 1;
        GPT_DISPATCH(level, softmax_gradient_avx512(d, p, count), softmax_gradient_plain(d, p, count),
                     softmax_gradient_plain(d, p, count));
        if (last > count) memset(d + count, 0, sizeof(float) * (size_t)(last - count));
    }
}
