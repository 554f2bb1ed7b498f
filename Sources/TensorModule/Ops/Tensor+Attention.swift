import CKernels

// Fused causal self-attention. B batch, T time, C channels, H heads, D = C / H channels per head.

extension Tensor {
    /// Causal multi-head attention on packed projections, fused into one op (the fast path of
    /// `MultiHeadAttention`): for each batch row and head, `softmax(q kᵀ / √D)` over positions `0...t` weights
    /// the values.
    ///
    /// - Parameters:
    ///   - self: `[B, T, 3C]`, the query, key and value projections side by side (nanoGPT's `c_attn` output).
    ///   - heads: `H`; `C` must be divisible by it.
    ///   - dropout: probability of zeroing an attention weight (training only), with `generator` for the masks.
    /// - Returns: `[B, T, C]`, the heads' outputs concatenated along channels.
    public func causalSelfAttention(heads: Int, dropout: Float = 0, generator: inout SeededGenerator) -> Tensor {
        let batch = shape[0], time = shape[1], channels = shape[2] / 3
        let headSize = channels / heads
        let logSumExp = TensorStorage(uninitialized: batch * heads * time)
        let seeds = (0..<(batch * heads)).map { _ in generator.next() }
        let out = TensorStorage(uninitialized: batch * time * channels)
        let sizes = AttentionSizes(batch: batch, time: time, channels: channels, heads: heads, headSize: headSize)
        // Short rows: keep the probabilities for the backward (B H T² floats, a few hundred KB at T = 64) rather
        // than recompute them, when a graph is being recorded.
        let kept = GradientMode.isEnabled && requiresGrad && time <= attentionRowBlock
            ? TensorStorage(uninitialized: batch * heads * time * time) : nil
        attentionForward(
            out: out.pointer, logSumExp: logSumExp.pointer, qkv: storage.pointer, sizes: sizes,
            dropout: dropout, seeds: seeds, probabilities: kept?.pointer)
        return Tensor(shape: [batch, time, channels], storage: out, parents: [self]) { dy in
            let (gradient, fresh) = self.gradientForWriting()
            attentionBackward(
                qkvGradient: gradient.pointer, outputGradient: dy.pointer, logSumExp: logSumExp.pointer,
                qkv: self.storage.pointer, sizes: sizes, dropout: dropout, seeds: seeds, overwrite: fresh,
                probabilities: kept.map { UnsafePointer($0.pointer) })
        }
    }
}

/// The sizes of a fused attention call.
public struct AttentionSizes: Sendable {
    public let batch: Int, time: Int, channels: Int, heads: Int, headSize: Int
    public init(batch: Int, time: Int, channels: Int, heads: Int, headSize: Int) {
        self.batch = batch
        self.time = time
        self.channels = channels
        self.heads = heads
        self.headSize = headSize
    }
}

/// Rows of queries handled together: each block multiplies only against the keys up to its last row, so the work
/// above the diagonal is skipped block by block. It is also the longest sequence whose probabilities the forward
/// keeps for the backward (one block); longer ones are recomputed from the saved `log Σ exp`, flash-attention style.
let attentionRowBlock = 64

/// One head's attention probabilities for query rows `rows` (keys `0..<rows.upperBound`) into `block`
/// (`[rows.count, t]`, row `i` zero from column `i + 1` on): `S = Q Kᵀ / √D`, then per row either the softmax,
/// saving `log Σ exp` in `logSumExp[i]` (the forward), or `exp(S - logSumExp[i])` from the saved value (the
/// backward, which so recomputes `P` instead of keeping a `[B, H, T, T]` tensor, as flash attention does).
/// `q`, `k`: the head's columns of `[T, 3C]` rows; `keys`: its `Kᵀ` rounded to bfloat16, under bf16 products.
@inline(__always)
func attentionProbabilities(
    _ block: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, rows: Range<Int>,
    time t: Int, rowStride: Int, headSize d: Int, logSumExp: UnsafeMutablePointer<Float>, recompute: Bool,
    keys: RoundedHeadOperand? = nil
) {
    let first = rows.lowerBound, last = rows.upperBound
    headProduct(  // S = Q Kᵀ / √D   (rows, last)
        keys, transposed: true, m: rows.count, n: last, k: d, alpha: 1 / Float(d).squareRoot(),
        a: q + first * rowStride, lda: rowStride, x: k, rowStride: rowStride, beta: 0, c: block, ldc: t)
    causalSoftmaxRows(block, stride: t, rows: rows, logSumExp: logSumExp, recompute: recompute)
}

/// Rows `rows` of a block of causal attention scores, in place: row `i` (at `block + (i - rows.lowerBound) *
/// stride`) becomes the softmax of its columns `0...i`, saving `logSumExp[i]` (`log Σ exp`), or with `recompute`
/// becomes `exp(S - logSumExp[i])` from the saved value; columns `i + 1 ..< rows.upperBound` are zeroed. The C
/// kernel of `instructions` (AVX-512 with masked tails, else plain C).
public func causalSoftmaxRows(
    _ block: UnsafeMutablePointer<Float>, stride: Int, rows: Range<Int>, logSumExp: UnsafeMutablePointer<Float>,
    recompute: Bool, instructions: VectorInstructions = .widest
) {
    gpt_causal_softmax_rows(
        Int32(instructions.rawValue), block, stride, rows.lowerBound, rows.upperBound, logSumExp, recompute ? 1 : 0)
}

/// The softmax's backward for the same rows, in place: `gradient[j] = p[j] (gradient[j] - Σ_k gradient[k] p[k])`
/// over columns `0...i` (`dP` to `dS`), zero past the diagonal; `probabilities` has the same layout.
public func causalSoftmaxBackwardRows(
    _ gradient: UnsafeMutablePointer<Float>, probabilities: UnsafePointer<Float>, stride: Int, rows: Range<Int>,
    instructions: VectorInstructions = .widest
) {
    gpt_causal_softmax_backward_rows(
        Int32(instructions.rawValue), gradient, probabilities, stride, rows.lowerBound, rows.upperBound)
}

/// The dropped-out probabilities `Pd = mask ⊙ P / (1 - dropout)` of a block of rows (both `[rows.count, t]`,
/// row `i` used up to column `i`, zero from there to `rows.upperBound`). The mask comes from `generator`, one draw
/// per weight in row order, so the forward and the backward, each starting from the head's seed, get the same
/// mask: it is regenerated rather than stored.
@inline(__always)
func dropProbabilities(
    _ out: UnsafeMutablePointer<Float>, probabilities: UnsafePointer<Float>, rows: Range<Int>, time t: Int,
    dropout: Float, generator: inout SeededGenerator
) {
    let keep = 1 / (1 - dropout)
    for i in rows {
        let row = probabilities + (i - rows.lowerBound) * t, dropped = out + (i - rows.lowerBound) * t
        for j in 0...i { dropped[j] = generator.nextFloat() >= dropout ? row[j] * keep : 0 }
        for j in (i + 1)..<rows.upperBound { dropped[j] = 0 }
    }
}

/// Forward of fused causal attention, parallel over `B x H`; per head, blocked matrix products on the lower
/// triangle. `out`: `[B, T, C]`; `logSumExp`: `[B, H, T]`, each row's softmax normaliser (all the backward needs to
/// recompute the probabilities); `qkv`: `[B, T, 3C]`; `seeds`: one dropout seed per `(b, h)` (the backward
/// regenerates the masks). With `probabilities` (`[B, H, T, T]`, only for `T <= 64`, one block of rows),
/// each head's probabilities before dropout are left there, zero above the diagonal, for the backward.
public func attentionForward(
    out: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>,
    qkv: UnsafePointer<Float>, sizes: AttentionSizes, dropout: Float, seeds: [UInt64],
    probabilities: UnsafeMutablePointer<Float>? = nil
) {
    let o = SendablePointer(out), l = SendablePointer(logSumExp)
    let x = SendablePointer(UnsafeMutablePointer(mutating: qkv))
    let t = sizes.time, c = sizes.channels, d = sizes.headSize
    precondition(probabilities == nil || t <= attentionRowBlock, "probabilities are kept for one block of rows")
    let kept = probabilities.map { SendablePointer($0) }
    let bfloat16 = RoundedHeadOperand.kernel(time: t, headSize: d)
    parallelFor(sizes.batch * sizes.heads) { range in
        let weights = UnsafeMutablePointer<Float>.allocate(capacity: attentionRowBlock * t)
        let dropped = dropout > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: attentionRowBlock * t) : nil
        // Under bf16 products: each head's Kᵀ and V rounded once for all of its row blocks.
        let keys = bfloat16.map { RoundedHeadOperand(kernel: $0, transposed: true, time: t, headSize: d) }
        let values = bfloat16.map { RoundedHeadOperand(kernel: $0, transposed: false, time: t, headSize: d) }
        defer {
            weights.deallocate()
            dropped?.deallocate()
            keys?.deallocate()
            values?.deallocate()
        }
        for bh in range {
            let b = bh / sizes.heads, h = bh % sizes.heads
            var generator = SeededGenerator(seed: seeds[bh])
            let q = x.base + b * t * 3 * c + h * d, k = q + c, v = q + 2 * c
            let y = o.base + b * t * c + h * d
            keys?.round(k, rowStride: 3 * c)
            values?.round(v, rowStride: 3 * c)
            for first in stride(from: 0, to: t, by: attentionRowBlock) {
                let last = min(t, first + attentionRowBlock)  // rows first..<last attend to keys 0..<last
                let weights = kept.map { $0.base + bh * t * t } ?? weights
                attentionProbabilities(weights, q: q, k: k, rows: first..<last, time: t, rowStride: 3 * c,
                                       headSize: d, logSumExp: l.base + bh * t, recompute: false, keys: keys)
                if let dropped {
                    dropProbabilities(dropped, probabilities: weights, rows: first..<last, time: t, dropout: dropout,
                                      generator: &generator)
                }
                headProduct(  // Y = Pd V   (rows, D)
                    values, transposed: false, m: last - first, n: d, k: last, alpha: 1, a: dropped ?? weights,
                    lda: t, x: v, rowStride: 3 * c, beta: 0, c: y + first * c, ldc: c)
            }
        }
    }
}

/// Backward of ``attentionForward(out:logSumExp:qkv:sizes:dropout:seeds:)``, recomputing each block's `P` from
/// `logSumExp` and its dropout mask from the seed: `dV += Pdᵀ dY`, `dPd = dY Vᵀ` (then through the dropout mask to
/// `dP`), `dS = P ⊙ (dP - rowsum(dP ⊙ P))`, `dQ += dS K / √D`, `dK += dSᵀ Q / √D`, block by block on the lower
/// triangle. `qkvGradient`: `[B, T, 3C]`, added to, or with `overwrite` written (its old contents ignored).
/// `probabilities`: the forward's, when it kept them (then nothing is recomputed).
///
/// Without dropout the blocks go last to first: the last block's `dV` and `dK` products cover every row, so with
/// `overwrite` they write instead of adding, and no pass zeroes the gradient first. (With dropout the masks are
/// drawn in row order, so the blocks go first to last, and a gradient to overwrite is zeroed first when there is
/// more than one block.)
public func attentionBackward(
    qkvGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
    logSumExp: UnsafePointer<Float>, qkv: UnsafePointer<Float>, sizes: AttentionSizes, dropout: Float,
    seeds: [UInt64], overwrite: Bool = false, probabilities: UnsafePointer<Float>? = nil
) {
    let dx = SendablePointer(qkvGradient), dy = SendablePointer(UnsafeMutablePointer(mutating: outputGradient))
    let l = SendablePointer(UnsafeMutablePointer(mutating: logSumExp))
    let x = SendablePointer(UnsafeMutablePointer(mutating: qkv))
    let t = sizes.time, c = sizes.channels, d = sizes.headSize, scale = 1 / Float(d).squareRoot()
    let keep = 1 / (1 - dropout)
    let starts = Array(stride(from: 0, to: t, by: attentionRowBlock))
    let blocks = dropout > 0 ? starts : starts.reversed()
    // Whether the first block visited covers all rows of dV and dK (then it writes them when overwriting).
    var writesFirst = overwrite
    if overwrite && blocks[0] + attentionRowBlock < t {
        qkvGradient.update(repeating: 0, count: sizes.batch * t * 3 * c)
        writesFirst = false
    }
    let firstBeta: Float = writesFirst ? 0 : 1, queryBeta: Float = overwrite ? 0 : 1
    precondition(probabilities == nil || t <= attentionRowBlock, "probabilities are kept for one block of rows")
    let kept = probabilities.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
    let bfloat16 = RoundedHeadOperand.kernel(time: t, headSize: d)
    parallelFor(sizes.batch * sizes.heads) { range in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: attentionRowBlock * t)
        let weights = UnsafeMutablePointer<Float>.allocate(capacity: attentionRowBlock * t)
        let dropped = dropout > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: attentionRowBlock * t) : nil
        // Under bf16 products: each head's Kᵀ (to recompute P, unless kept), Vᵀ (for dPd) and K (for dQ) rounded
        // once.
        func operand(_ transposed: Bool) -> RoundedHeadOperand? {
            bfloat16.map { RoundedHeadOperand(kernel: $0, transposed: transposed, time: t, headSize: d) }
        }
        let keysT = kept == nil ? operand(true) : nil, valuesT = operand(true), keys = operand(false)
        defer {
            scores.deallocate()
            weights.deallocate()
            dropped?.deallocate()
            for operand in [keysT, valuesT, keys] { operand?.deallocate() }
        }
        for bh in range {
            let b = bh / sizes.heads, h = bh % sizes.heads
            var generator = SeededGenerator(seed: seeds[bh])
            let q = x.base + b * t * 3 * c + h * d, k = q + c, v = q + 2 * c
            let dq = dx.base + b * t * 3 * c + h * d, dk = dq + c, dv = dq + 2 * c
            let g = dy.base + b * t * c + h * d
            keysT?.round(k, rowStride: 3 * c)
            valuesT?.round(v, rowStride: 3 * c)
            keys?.round(k, rowStride: 3 * c)
            for first in blocks {
                let last = min(t, first + attentionRowBlock), rows = last - first
                let beta = first == blocks[0] ? firstBeta : 1  // for dV and dK
                let weights = kept.map { $0.base + bh * t * t } ?? weights
                if kept == nil {
                    attentionProbabilities(weights, q: q, k: k, rows: first..<last, time: t, rowStride: 3 * c,
                                           headSize: d, logSumExp: l.base + bh * t, recompute: true,
                                           keys: keysT)
                }
                if let dropped {  // the forward's mask for these rows, from the same seed in the same order
                    dropProbabilities(dropped, probabilities: weights, rows: first..<last, time: t, dropout: dropout,
                                      generator: &generator)
                }
                serialGEMM(  // dV[0..<last] += Pdᵀ dY
                    transposeA: true, transposeB: false, m: last, n: d, k: rows, alpha: 1,
                    a: dropped ?? weights, lda: t, b: g + first * c, ldb: c, beta: beta, c: dv, ldc: 3 * c)
                headProduct(  // dPd = dY Vᵀ   (rows, last), stored with row stride t
                    valuesT, transposed: true, m: rows, n: last, k: d, alpha: 1, a: g + first * c, lda: c,
                    x: v, rowStride: 3 * c, beta: 0, c: scores, ldc: t)
                if let dropped {  // dP = dPd through the mask
                    for i in first..<last {
                        let dRow = scores + (i - first) * t, droppedRow = dropped + (i - first) * t
                        for j in 0...i { dRow[j] = droppedRow[j] == 0 ? 0 : dRow[j] * keep }
                    }
                }
                causalSoftmaxBackwardRows(scores, probabilities: weights, stride: t, rows: first..<last)  // dS
                headProduct(  // dQ[first..<last] += dS K / √D
                    keys, transposed: false, m: rows, n: d, k: last, alpha: scale, a: scores, lda: t,
                    x: k, rowStride: 3 * c, beta: queryBeta, c: dq + first * 3 * c, ldc: 3 * c)
                serialGEMM(  // dK[0..<last] += dSᵀ Q / √D
                    transposeA: true, transposeB: false, m: last, n: d, k: rows, alpha: scale,
                    a: scores, lda: t, b: q + first * 3 * c, ldb: 3 * c, beta: beta, c: dk, ldc: 3 * c)
            }
        }
    }
}
