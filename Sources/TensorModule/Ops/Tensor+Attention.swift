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
        let probabilities = TensorStorage(zeros: batch * heads * time * time)
        let dropped = dropout > 0 ? TensorStorage(zeros: batch * heads * time * time) : nil
        let seeds = (0..<(batch * heads)).map { _ in generator.next() }
        let out = TensorStorage(zeros: batch * time * channels)
        let sizes = AttentionSizes(batch: batch, time: time, channels: channels, heads: heads, headSize: headSize)
        attentionForward(
            out: out.pointer, probabilities: probabilities.pointer, droppedProbabilities: dropped?.pointer,
            qkv: storage.pointer, sizes: sizes, dropout: dropout, seeds: seeds)
        return Tensor(shape: [batch, time, channels], storage: out, parents: [self]) { dy in
            attentionBackward(
                qkvGradient: self.ensureGradient().pointer, outputGradient: dy.pointer,
                probabilities: probabilities.pointer, droppedProbabilities: dropped?.pointer,
                qkv: self.storage.pointer, sizes: sizes, dropout: dropout)
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

/// Forward of fused causal attention, parallel over `B x H`, touching only the lower triangle.
/// `out`: `[B, T, C]`; `probabilities`, `droppedProbabilities`: `[B, H, T, T]` (saved for the backward);
/// `qkv`: `[B, T, 3C]`; `seeds`: one dropout seed per `(b, h)`.
public func attentionForward(
    out: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
    droppedProbabilities: UnsafeMutablePointer<Float>?, qkv: UnsafePointer<Float>, sizes: AttentionSizes,
    dropout: Float, seeds: [UInt64]
) {
    let o = SendablePointer(out), p = SendablePointer(probabilities)
    let pd = droppedProbabilities.map { SendablePointer($0) }, x = SendablePointer(UnsafeMutablePointer(mutating: qkv))
    let t = sizes.time, c = sizes.channels, d = sizes.headSize, scale = 1 / Float(d).squareRoot()
    let keep = 1 / (1 - dropout)
    parallelFor(sizes.batch * sizes.heads) { range in
        var scores = [Float](repeating: 0, count: t)
        for bh in range {
            let b = bh / sizes.heads, h = bh % sizes.heads
            var generator = SeededGenerator(seed: seeds[bh])
            let base = x.base + b * t * 3 * c + h * d
            for i in 0..<t {
                let q = base + i * 3 * c
                var maximum = -Float.infinity
                for j in 0...i {
                    let k = base + j * 3 * c + c
                    var dot: Float = 0
                    for e in 0..<d { dot += q[e] * k[e] }
                    scores[j] = dot * scale
                    maximum = max(maximum, scores[j])
                }
                var total: Float = 0
                for j in 0...i {
                    scores[j] = _expf(scores[j] - maximum)
                    total += scores[j]
                }
                let row = p.base + (bh * t + i) * t
                let droppedRow = pd.map { $0.base + (bh * t + i) * t }
                let y = o.base + (b * t + i) * c + h * d
                for e in 0..<d { y[e] = 0 }
                for j in 0...i {
                    row[j] = scores[j] / total
                    var weight = row[j]
                    if let droppedRow {
                        weight = generator.nextFloat() >= dropout ? weight * keep : 0
                        droppedRow[j] = weight
                    }
                    let v = base + j * 3 * c + 2 * c
                    for e in 0..<d { y[e] += weight * v[e] }
                }
            }
        }
    }
}

/// Backward of ``attentionForward(out:probabilities:droppedProbabilities:qkv:sizes:dropout:seeds:)``:
/// `dV += Pdᵀ dO`, `dP = dO Vᵀ` (through the dropout mask), `dS = P ⊙ (dP - rowsum(dP ⊙ P))`,
/// `dQ += dS K / √D`, `dK += dSᵀ Q / √D`, all on the lower triangle. `qkvGradient`: `[B, T, 3C]`.
public func attentionBackward(
    qkvGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
    probabilities: UnsafePointer<Float>, droppedProbabilities: UnsafePointer<Float>?, qkv: UnsafePointer<Float>,
    sizes: AttentionSizes, dropout: Float
) {
    let dx = SendablePointer(qkvGradient), dy = SendablePointer(UnsafeMutablePointer(mutating: outputGradient))
    let p = SendablePointer(UnsafeMutablePointer(mutating: probabilities))
    let pd = droppedProbabilities.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
    let x = SendablePointer(UnsafeMutablePointer(mutating: qkv))
    let t = sizes.time, c = sizes.channels, d = sizes.headSize, scale = 1 / Float(d).squareRoot()
    let keep = 1 / (1 - dropout)
    parallelFor(sizes.batch * sizes.heads) { range in
        var dScores = [Float](repeating: 0, count: t)
        for bh in range {
            let b = bh / sizes.heads, h = bh % sizes.heads
            let base = x.base + b * t * 3 * c + h * d, gradientBase = dx.base + b * t * 3 * c + h * d
            for i in 0..<t {
                let row = p.base + (bh * t + i) * t
                let droppedRow = pd.map { $0.base + (bh * t + i) * t }
                let g = dy.base + (b * t + i) * c + h * d
                var weighted: Float = 0
                for j in 0...i {
                    let v = base + j * 3 * c + 2 * c, dv = gradientBase + j * 3 * c + 2 * c
                    let used = droppedRow?[j] ?? row[j]
                    var dot: Float = 0
                    for e in 0..<d {
                        dot += g[e] * v[e]
                        dv[e] += used * g[e]
                    }
                    // Through dropout: d(weight)/d(p) is `keep` where kept, 0 where dropped.
                    if let droppedRow { dot = droppedRow[j] == 0 ? 0 : dot * keep }
                    dScores[j] = dot
                    weighted += dot * row[j]
                }
                let q = base + i * 3 * c, dq = gradientBase + i * 3 * c
                for j in 0...i {
                    let ds = row[j] * (dScores[j] - weighted) * scale
                    let k = base + j * 3 * c + c, dk = gradientBase + j * 3 * c + c
                    for e in 0..<d {
                        dq[e] += ds * k[e]
                        dk[e] += ds * q[e]
                    }
                }
            }
        }
    }
}
