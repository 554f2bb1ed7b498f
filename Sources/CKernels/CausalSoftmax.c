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

/// Rows of at most kShortRow columns (every row of a block whose `last` is at most that) are done whole in
/// registers, one call per block: no calls per row, no second pass to scale, the zeros past the diagonal written
/// by the same masked stores. Lanes past column i are kept out of the max and sum and come out 0.
enum { kShortRow = 64 };

/// The lanes of vector v (columns 16 v ..< 16 v + 16) below `count`, without branches (the count changes with
/// every row).
static inline __mmask16 lanes_below(ptrdiff_t count, int v) {
    ptrdiff_t n = count - 16 * v;
    n = n < 0 ? 0 : n > 16 ? 16 : n;
    return (__mmask16)((1u << n) - 1);
}

GPT_AVX512 static void short_softmax_rows_avx512(float *block, ptrdiff_t stride, ptrdiff_t first, ptrdiff_t last,
                                                float *log_sum_exp) {
    int vectors = (int)((last + 15) / 16);
    for (ptrdiff_t i = first; i < last; i++) {
        float *row = block + (i - first) * stride;
        int used = (int)(i / 16) + 1;  // vectors holding columns 0...i; the others are all zeros
        __m512 x[4], e[4], best = _mm512_set1_ps(-INFINITY), sum = _mm512_setzero_ps();
        GPT_UNROLL for (int v = 0; v < 4; v++) {
            if (v >= used) break;
            x[v] = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lanes_below(i + 1, v), row + 16 * v);
            best = _mm512_max_ps(best, x[v]);
        }
        float maximum = _mm512_reduce_max_ps(best);
        __m512 shift = _mm512_set1_ps(maximum);
        GPT_UNROLL for (int v = 0; v < 4; v++) {
            e[v] = _mm512_setzero_ps();
            if (v >= used) continue;
            e[v] = _mm512_maskz_mov_ps(lanes_below(i + 1, v), exp512(_mm512_sub_ps(x[v], shift)));
            sum = _mm512_add_ps(sum, e[v]);
        }
        float total = _mm512_reduce_add_ps(sum);
        __m512 inverse = _mm512_set1_ps(1.0f / total);
        GPT_UNROLL for (int v = 0; v < 4; v++) {
            if (v >= vectors) break;
            _mm512_mask_storeu_ps(row + 16 * v, lanes_below(last, v), _mm512_mul_ps(e[v], inverse));
        }
        log_sum_exp[i] = maximum + logf(total);
    }
}

GPT_AVX512 static void short_softmax_backward_rows_avx512(float *gradient, const float *probabilities,
                                                         ptrdiff_t stride, ptrdiff_t first, ptrdiff_t last) {
    int vectors = (int)((last + 15) / 16);
    for (ptrdiff_t i = first; i < last; i++) {
        float *d = gradient + (i - first) * stride;
        const float *p = probabilities + (i - first) * stride;
        __m512 dv[4], pv[4], dot = _mm512_setzero_ps();
        GPT_UNROLL for (int v = 0; v < 4; v++) {
            if (v >= vectors) break;
            __mmask16 used = lanes_below(i + 1, v);
            dv[v] = _mm512_maskz_loadu_ps(used, d + 16 * v);
            pv[v] = _mm512_maskz_loadu_ps(used, p + 16 * v);
            dot = _mm512_fmadd_ps(dv[v], pv[v], dot);
        }
        __m512 weighted = _mm512_set1_ps(_mm512_reduce_add_ps(dot));
        GPT_UNROLL for (int v = 0; v < 4; v++) {
            if (v >= vectors) break;
            __m512 ds = _mm512_mul_ps(pv[v], _mm512_sub_ps(dv[v], weighted));
            _mm512_mask_storeu_ps(d + 16 * v, lanes_below(last, v), ds);
        }
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
#ifdef GPT_X86
    if (!recompute && last <= kShortRow && level >= 3 && gpt_simd_level() >= 3) {
        short_softmax_rows_avx512(block, stride, first, last, log_sum_exp);
        return;
    }
#endif
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
#ifdef GPT_X86
    if (last <= kShortRow && level >= 3 && gpt_simd_level() >= 3) {
        short_softmax_backward_rows_avx512(gradient, probabilities, stride, first, last);
        return;
    }
#endif
    for (ptrdiff_t i = first; i < last; i++) {
        float *d = gradient + (i - first) * stride;
        const float *p = probabilities + (i - first) * stride;
        ptrdiff_t count = i + 1;
        GPT_DISPATCH(level, softmax_gradient_avx512(d, p, count), softmax_gradient_plain(d, p, count),
                     softmax_gradient_plain(d, p, count));
        if (last > count) memset(d + count, 0, sizeof(float) * (size_t)(last - count));
    }
}
