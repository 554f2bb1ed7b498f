import Foundation

// The ops of the modern GPT layout (nanochat, the modded-nanogpt speedrun), each forward with its backward below it.
// N rows (every leading dimension flattened), C the last dimension; D a head's size, a "head" being D consecutive
// features of a row.

extension Tensor {
    // MARK: - RMSNorm

    /// `y = x / sqrt(mean(x²) + ε) ⊙ g` over the last dimension (PyTorch's `F.rms_norm`); no gain when `weight` is
    /// `nil`. `[N..., C] -> [N..., C]`, `weight` `[C]`.
    public func rmsNorm(weight: Tensor?, epsilon: Float) -> Tensor {
        let columns = shape.last!, rows = count / columns
        let out = TensorStorage(uninitialized: count), rstd = TensorStorage(uninitialized: rows)
        let x = storage.pointer, y = out.pointer, g = weight?.storage.pointer
        for r in 0..<rows {
            let row = x + r * columns, out = y + r * columns
            let scale = 1 / (dotProduct(row, row, count: columns) / Float(columns) + epsilon).squareRoot()
            rstd.pointer[r] = scale
            if let g {
                for c in 0..<columns { out[c] = row[c] * scale * g[c] }
            } else {
                for c in 0..<columns { out[c] = row[c] * scale }
            }
        }
        let parents = [self] + (weight.map { [$0] } ?? [])
        return Tensor(shape: shape, storage: out, parents: parents) { dy in
            let dx = self.requiresGrad ? self.ensureGradient().pointer : nil
            let dg = weight?.requiresGrad == true ? weight!.ensureGradient().pointer : nil
            for r in 0..<rows {
                let row = x + r * columns, grad = dy.pointer + r * columns, scale = rstd.pointer[r]
                // With n = x·s: dn = dy ⊙ g, dx = s (dn - n mean(dn ⊙ n)), dg += dy ⊙ n.
                if let g {
                    var dot: Float = 0
                    for c in 0..<columns { dot += grad[c] * g[c] * row[c] }
                    let mean = dot * scale / Float(columns)
                    for c in 0..<columns {
                        let n = row[c] * scale
                        dx?[r * columns + c] += scale * (grad[c] * g[c] - n * mean)
                        dg?[c] += grad[c] * n
                    }
                } else if let dx {
                    let mean = dotProduct(grad, row, count: columns) * scale / Float(columns)
                    let out = dx + r * columns, factor = scale * scale * mean
                    for c in 0..<columns { out[c] += scale * grad[c] - row[c] * factor }
                }
            }
        }
    }

    // MARK: - Heads normalized

    /// RMS-normalises each of the first `heads` heads of `headSize` features of every row, leaving the rest of the row
    /// as it is: QK-norm on a packed `[q | k | v]` projection. Without `gains` there is no gain (nanochat); with them
    /// the first `gains.queryHeads` heads are multiplied by `gains.query` and the others by `gains.key` (Qwen3's
    /// `q_norm`, `k_norm`). `[N..., C] -> [N..., C]`, each gain `[headSize]`.
    public func normalizingHeads(_ heads: Int, headSize: Int, epsilon: Float, gains: HeadGains? = nil) -> Tensor {
        let columns = shape.last!, rows = count / columns
        precondition(heads * headSize <= columns, "normalizingHeads: \(heads) heads of \(headSize) exceed \(columns)")
        precondition(gains.map { $0.query.count == headSize && $0.key.count == headSize } ?? true, "normalizingHeads: gains of \(headSize)")
        let out = TensorStorage(uninitialized: count), rstd = TensorStorage(uninitialized: rows * heads)
        let x = storage.pointer, y = out.pointer
        /// The gain of head `h`, if any.
        func gain(_ h: Int) -> UnsafeMutablePointer<Float>? {
            gains.map { h < $0.queryHeads ? $0.query.storage.pointer : $0.key.storage.pointer }
        }
        y.update(from: x, count: count)
        for r in 0..<rows {
            for h in 0..<heads {
                let head = y + r * columns + h * headSize
                let scale = 1 / (dotProduct(head, head, count: headSize) / Float(headSize) + epsilon).squareRoot()
                rstd.pointer[r * heads + h] = scale
                if let g = gain(h) {
                    for i in 0..<headSize { head[i] *= scale * g[i] }
                } else {
                    for i in 0..<headSize { head[i] *= scale }
                }
            }
        }
        let parents = [self] + (gains.map { [$0.query, $0.key] } ?? [])
        return Tensor(shape: shape, storage: out, parents: parents) { dy in
            let dx = self.requiresGrad ? self.ensureGradient().pointer : nil
            /// The gradient of head `h`'s gain, if it has one that requires it.
            func gainGradient(_ h: Int) -> UnsafeMutablePointer<Float>? {
                guard let gains else { return nil }
                let tensor = h < gains.queryHeads ? gains.query : gains.key
                return tensor.requiresGrad ? tensor.ensureGradient().pointer : nil
            }
            for r in 0..<rows {
                for h in 0..<heads {
                    let offset = r * columns + h * headSize, scale = rstd.pointer[r * heads + h], grad = dy.pointer + offset
                    if let g = gain(h) {
                        // With n = x·s: dn = dy ⊙ g, dx = s (dn - n mean(dn ⊙ n)), dg += dy ⊙ n.
                        var dot: Float = 0
                        for i in 0..<headSize { dot += grad[i] * g[i] * x[offset + i] * scale }
                        let mean = dot / Float(headSize), dg = gainGradient(h)
                        for i in 0..<headSize {
                            let n = x[offset + i] * scale
                            dx?[offset + i] += scale * (grad[i] * g[i] - n * mean)
                            dg?[i] += grad[i] * n
                        }
                    } else if let dx {
                        let mean = dotProduct(grad, y + offset, count: headSize) / Float(headSize)
                        for i in 0..<headSize { dx[offset + i] += scale * (grad[i] - y[offset + i] * mean) }
                    }
                }
                if let dx {
                    let rest = r * columns + heads * headSize
                    for c in rest..<(r * columns + columns) { dx[c] += dy.pointer[c] }
                }
            }
        }
    }

    // MARK: - Rotary position embedding

    /// Rotates each of the first `heads` heads of every row by its position's angles, in Hugging Face LLaMA's
    /// half-split convention: `x' = x cos + rotate_half(x) sin`, `rotate_half(x) = cat(-x₂, x₁)`, the angle of pair
    /// `i` at position `t` being `t / θ^(2i/D)`. `self` is `[B, T, C]`; positions are `start..<start+T`; `cosine` and
    /// `sine` are `[positions, D/2]` tables. The rest of each row is left as it is. With `rowPositions` (`[B·T]`),
    /// row `r` sits at `rowPositions[r]` instead (a batched decoding step: B sequences, each at its own position).
    public func rotatingHeads(_ heads: Int, headSize: Int, cosine: TensorStorage, sine: TensorStorage, start: Int,
                              rowPositions: [Int]? = nil) -> Tensor {
        let columns = shape.last!, time = shape[shape.count - 2], rows = count / columns, half = headSize / 2
        precondition(heads * headSize <= columns && headSize % 2 == 0, "rotatingHeads: \(heads) heads of \(headSize) in \(columns)")
        precondition(rowPositions.map { $0.count == rows } ?? true, "rotatingHeads: \(rows) rows need as many positions")
        let out = TensorStorage(uninitialized: count)
        let x = storage.pointer, y = out.pointer
        func rotate(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, direction: Float) {
            for r in 0..<rows {
                let position = rowPositions?[r] ?? start + r % time
                let cos = cosine.pointer + position * half, sin = sine.pointer + position * half
                for h in 0..<heads {
                    let offset = r * columns + h * headSize
                    for i in 0..<half {
                        let first = source[offset + i], second = source[offset + half + i], s = direction * sin[i]
                        target[offset + i] += first * cos[i] - second * s
                        target[offset + half + i] += second * cos[i] + first * s
                    }
                }
                let rest = r * columns + heads * headSize
                for c in rest..<(r * columns + columns) { target[c] += source[c] }
            }
        }
        y.update(repeating: 0, count: count)
        rotate(x, into: y, direction: 1)
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            rotate(dy.pointer, into: self.ensureGradient().pointer, direction: -1)  // the inverse rotation
        }
    }

    // MARK: - Grouped-query attention

    /// `[N..., (H + 2·KV)·D] -> [N..., 3·H·D]`: the packed `[q | k | v]` of `keyValueHeads` key and value heads, each
    /// repeated for the `H / KV` query heads that read it (query head `h` reads head `h / (H / KV)`: Hugging Face's
    /// `repeat_kv`). The backward sums each repeated head's gradients.
    public func expandingKeyValueHeads(queryHeads: Int, keyValueHeads: Int, headSize: Int) -> Tensor {
        let inColumns = shape.last!, rows = count / inColumns, group = queryHeads / keyValueHeads
        let q = queryHeads * headSize, kv = keyValueHeads * headSize, outColumns = 3 * q
        precondition(inColumns == q + 2 * kv && queryHeads % keyValueHeads == 0, "expandingKeyValueHeads: \(shape)")
        let out = TensorStorage(uninitialized: rows * outColumns)
        let x = storage.pointer, y = out.pointer
        /// Source column of each output column.
        func source(_ column: Int) -> Int {
            if column < q { return column }
            let part = (column - q) / q, within = (column - q) % q  // 0 keys, 1 values
            return q + part * kv + (within / headSize / group) * headSize + within % headSize
        }
        let map = (0..<outColumns).map(source)
        map.withUnsafeBufferPointer { map in
            for r in 0..<rows { for c in 0..<outColumns { y[r * outColumns + c] = x[r * inColumns + map[c]] } }
        }
        var outShape = shape
        outShape[outShape.count - 1] = outColumns
        return Tensor(shape: outShape, storage: out, parents: [self]) { dy in
            let dx = self.ensureGradient().pointer
            map.withUnsafeBufferPointer { map in
                for r in 0..<rows { for c in 0..<outColumns { dx[r * inColumns + map[c]] += dy.pointer[r * outColumns + c] } }
            }
        }
    }

    // MARK: - Logit soft-cap

    /// `cap · tanh(x / cap)`: logits squashed smoothly into `(-cap, cap)` (Gemma 2, the modded-nanogpt speedrun).
    public func softcapped(_ cap: Float) -> Tensor {
        let out = TensorStorage(uninitialized: count)
        for i in 0..<count { out.pointer[i] = cap * Foundation.tanh(storage.pointer[i] / cap) }
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            let dx = self.ensureGradient().pointer
            for i in 0..<self.count {
                let t = out.pointer[i] / cap
                dx[i] += dy.pointer[i] * (1 - t * t)
            }
        }
    }
}

/// The learnable gains of a QK-norm (``Tensor/normalizingHeads(_:headSize:epsilon:gains:)``): `query` `[D]` for the
/// first `queryHeads` heads of a row, `key` `[D]` for the heads after them.
public struct HeadGains {
    public let query: Tensor, key: Tensor
    public let queryHeads: Int

    public init(query: Tensor, key: Tensor, queryHeads: Int) {
        (self.query, self.key, self.queryHeads) = (query, key, queryHeads)
    }
}
