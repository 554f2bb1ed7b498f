import CKernels

/// One head's keys or values rounded to bfloat16 once, for the products of all of its row blocks (fused attention
/// under ``MatrixPrecision/bfloat16``): block by block, each block multiplies by a prefix of them, which rounded per
/// product would be rounded again for every block (2.5 times over at `T` = 256).
///
/// `transposed`: the operand is `Xᵀ` (`[D, T]`: `S = Q Kᵀ`, `dPd = dY Vᵀ`, a block reading its first `n`
/// positions as columns); else `X` (`[T, D]`: `Y = P V`, `dQ = dS K`, a block reading its first `k` positions as
/// depth). `X` is `[T, D]` with row stride `rowStride` (the head's columns of `[T, 3C]`).
struct RoundedHeadOperand {
    let kernel: BFloat16Kernel, transposed: Bool, time: Int, headSize: Int
    private let memory: PackingBuffer
    private var buffer: UnsafeMutablePointer<UInt16> { memory.pointer }

    /// The bfloat16 kernel of a head's attention products at `time` x `headSize` under the settings in force, or
    /// nil (fp32): the limits of ``KernelSettings/bfloat16Kernel(m:n:k:transposeA:transposeB:b:)`` on a head's
    /// `Q Kᵀ` blocks (`Σ rows · last · D` multiply-adds for `2 T D` elements rounded).
    static func kernel(time: Int, headSize: Int) -> BFloat16Kernel? {
        let settings = KernelSettings.current
        guard settings.precision == .bfloat16, settings.bfloat16Kernel != nil else { return nil }
        let products = stride(from: 0, to: time, by: attentionRowBlock).reduce(0) { sum, first in
            let last = min(time, first + attentionRowBlock)
            return sum + (last - first) * last * headSize
        }
        return settings.bfloat16Kernel(multiplyAdds: products, roundedElements: 2 * time * headSize)
    }

    init(kernel: BFloat16Kernel, transposed: Bool, time: Int, headSize: Int) {
        (self.kernel, self.transposed, self.time, self.headSize) = (kernel, transposed, time, headSize)
        memory = PackingBuffer(count: transposed ? gpt_bf16_packed_b_count(headSize, time)
                                                 : gpt_bf16_packed_b_count(time, headSize))
    }

    func deallocate() { memory.release() }

    /// Rounds the head's `X` (`[T, D]`, row stride `rowStride`) into this copy.
    func round(_ x: UnsafePointer<Float>, rowStride: Int) {
        let (k, n) = transposed ? (headSize, time) : (time, headSize)
        gpt_bf16_pack_b(buffer, transposed ? 1 : 0, k, n, x, rowStride, 0, (n + 31) / 32 * 2)
    }

    /// `C = alpha A op(X) + beta C` for `A` `[m, k]` (row stride `lda`), `op(X)` this copy's first `n` columns
    /// (transposed, `k` = D) or first `k` rows (`n` = D). `x`: the fp32 operand, for the fp32 product should the
    /// kernel's buffer be unavailable.
    func multiply(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, beta: Float,
                  c: UnsafeMutablePointer<Float>, ldc: Int, x: UnsafePointer<Float>, rowStride: Int) {
        let packedDepth = gpt_bf16_depth(transposed ? headSize : time)
        let done = gpt_bf16_gemm_packed(kernel.rawValue, 0, m, n, k, alpha, a, lda, buffer, packedDepth, beta, c, ldc,
                                        nil, 0) != 0
        if !done {
            float32SerialGEMM(transposeA: false, transposeB: transposed, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                              b: x, ldb: rowStride, beta: beta, c: c, ldc: ldc)
        }
    }
}

/// `C = alpha A op(X) + beta C` on `rounded` when there is one, else on the fp32 `x` with
/// ``serialGEMM(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``: a per-head product of fused attention.
@inline(__always)
func headProduct(
    _ rounded: RoundedHeadOperand?, transposed: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>,
    lda: Int, x: UnsafePointer<Float>, rowStride: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if let rounded {
        rounded.multiply(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, beta: beta, c: c, ldc: ldc, x: x,
                         rowStride: rowStride)
    } else {
        serialGEMM(transposeA: false, transposeB: transposed, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: x,
                   ldb: rowStride, beta: beta, c: c, ldc: ldc)
    }
}
