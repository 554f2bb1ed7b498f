import Foundation

/// Ops written out in `Double` as plain loops over flattened, row-major values: the references that
/// ``checkOp(_:inputs:reference:forwardTolerance:epsilon:gradientTolerance:op:)`` compares the kernels with.
///
/// Shapes are given beside the values; `N` is the number of rows (all leading dimensions), `C` the last dimension.
public enum Naive {
    // MARK: - Products

    /// `[B, M, K] × [B, K, N] -> [B, M, N]`; `b` may be one `[K, N]` matrix shared by every batch (`sharedB`).
    public static func matmul(_ a: [Double], _ b: [Double], batch: Int, m: Int, k: Int, n: Int, sharedB: Bool = false)
        -> [Double] {
        var out = [Double](repeating: 0, count: batch * m * n)
        for s in 0..<batch {
            let aBase = s * m * k, bBase = sharedB ? 0 : s * k * n
            for i in 0..<m {
                for j in 0..<n {
                    var total = 0.0
                    for p in 0..<k { total += a[aBase + i * k + p] * b[bBase + p * n + j] }
                    out[(s * m + i) * n + j] = total
                }
            }
        }
        return out
    }

    /// `y = x Wᵀ + b` (then `max(0, y)` when `relu`): `x [N, I]`, `weight [O, I]`, `bias [O]` -> `[N, O]`.
    public static func linear(_ x: [Double], weight: [Double], bias: [Double]?, inputs: Int, relu: Bool = false)
        -> [Double] {
        let rows = x.count / inputs, outputs = weight.count / inputs
        var out = [Double](repeating: 0, count: rows * outputs)
        for r in 0..<rows {
            for o in 0..<outputs {
                var total = bias?[o] ?? 0
                for i in 0..<inputs { total += x[r * inputs + i] * weight[o * inputs + i] }
                out[r * outputs + o] = relu ? max(0, total) : total
            }
        }
        return out
    }

    // MARK: - Elementwise

    /// `a ∘ b` with NumPy broadcasting (shapes aligned at the right, dimensions of 1 repeated).
    public static func broadcast(_ a: [Double], _ aShape: [Int], _ b: [Double], _ bShape: [Int],
                                 _ combine: (Double, Double) -> Double) -> [Double] {
        let rank = max(aShape.count, bShape.count)
        let left = Array(repeating: 1, count: rank - aShape.count) + aShape
        let right = Array(repeating: 1, count: rank - bShape.count) + bShape
        let shape = zip(left, right).map { max($0, $1) }
        return (0..<shape.reduce(1, *)).map { flat in
            var (rest, ai, bi, aStride, bStride) = (flat, 0, 0, 1, 1)
            for axis in (0..<rank).reversed() {
                let coordinate = rest % shape[axis]
                rest /= shape[axis]
                ai += (left[axis] == 1 ? 0 : coordinate) * aStride
                bi += (right[axis] == 1 ? 0 : coordinate) * bStride
                aStride *= left[axis]
                bStride *= right[axis]
            }
            return combine(a[ai], b[bi])
        }
    }

    /// GELU in GPT-2's tanh form: `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    public static func geluTanh(_ x: Double) -> Double { 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))) }

    /// GELU, exact: `0.5 x (1 + erf(x / √2))`.
    public static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.squareRoot())) }

    /// Causal attention of a chunk of `T` queries at positions `start..<start+T` to keys and values at positions
    /// `0..<start+T`, head by head: `softmax(q kᵀ / √D)` over positions `0...start+i` weights the values. `queries`
    /// `[T, H·D]`, `keys`/`values` `[start+T, KV·D]` (query head `h` reads key/value head `h / (H / KV)`) ->
    /// `[T, H·D]`.
    public static func chunkAttention(queries: [Double], keys: [Double], values: [Double], heads: Int,
                                      keyValueHeads: Int, headSize d: Int, start: Int) -> [Double] {
        let time = queries.count / (heads * d), kv = keyValueHeads * d
        var out = [Double](repeating: 0, count: queries.count)
        for h in 0..<heads {
            let g = h / (heads / keyValueHeads) * d
            for i in 0..<time {
                let seen = start + i, query = i * heads * d + h * d
                var scores = [Double](repeating: 0, count: seen + 1)
                for j in 0...seen {
                    for c in 0..<d { scores[j] += queries[query + c] * keys[j * kv + g + c] }
                    scores[j] /= Double(d).squareRoot()
                }
                let weights = softmax(scores, columns: seen + 1)
                for j in 0...seen {
                    for c in 0..<d { out[query + c] += weights[j] * values[j * kv + g + c] }
                }
            }
        }
        return out
    }

    // MARK: - Rows

    /// Softmax over each row of `columns` values; `-inf` gets probability zero.
    public static func softmax(_ x: [Double], columns: Int) -> [Double] {
        stride(from: 0, to: x.count, by: columns).flatMap { start -> [Double] in
            let row = x[start..<(start + columns)], top = row.max()!
            let exponentials = row.map { exp($0 - top) }, total = exponentials.reduce(0, +)
            return exponentials.map { $0 / total }
        }
    }

    /// Mean over rows of `-log softmax(logits)[target]`: `logits [N, V]`, `targets [N]` -> a scalar. Rows whose
    /// target is negative are left out of the sum and the count (PyTorch's `ignore_index`).
    public static func crossEntropy(_ logits: [Double], targets: [Int], classes: Int) -> Double {
        let probabilities = softmax(logits, columns: classes)
        let counted = targets.enumerated().filter { $0.element >= 0 }
        guard !counted.isEmpty else { return 0 }
        return counted.map { -log(probabilities[$0.offset * classes + $0.element]) }.reduce(0, +) / Double(counted.count)
    }

    /// `(x - mean) / √(variance + ε) · weight + bias` over each row of `weight.count` values (biased variance).
    public static func layerNorm(_ x: [Double], weight: [Double], bias: [Double]?, epsilon: Double = 1e-5) -> [Double] {
        let columns = weight.count
        return stride(from: 0, to: x.count, by: columns).flatMap { start -> [Double] in
            let row = Array(x[start..<(start + columns)])
            let mean = row.reduce(0, +) / Double(columns)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(columns)
            return row.indices.map { (row[$0] - mean) / (variance + epsilon).squareRoot() * weight[$0] + (bias?[$0] ?? 0) }
        }
    }

    /// `x / √(mean(x²) + ε) · weight` over each row of `columns` values (no weight: a gain of 1).
    public static func rmsNorm(_ x: [Double], weight: [Double]?, columns: Int, epsilon: Double) -> [Double] {
        stride(from: 0, to: x.count, by: columns).flatMap { start -> [Double] in
            let row = Array(x[start..<(start + columns)])
            let rms = (row.map { $0 * $0 }.reduce(0, +) / Double(columns) + epsilon).squareRoot()
            return row.indices.map { row[$0] / rms * (weight?[$0] ?? 1) }
        }
    }

    /// Scores above the diagonal of each `[T, T]` matrix set to `-inf`.
    public static func causallyMasked(_ x: [Double], size t: Int) -> [Double] {
        x.indices.map { i in (i % t) > (i / t) % t ? -.infinity : x[i] }
    }

    // MARK: - Layout

    /// The axes of a `shape` tensor reordered: output axis `i` is input axis `order[i]`.
    public static func permute(_ x: [Double], shape: [Int], order: [Int]) -> [Double] {
        let strides = self.strides(shape), outShape = order.map { shape[$0] }
        return (0..<x.count).map { flat in
            var (rest, source) = (flat, 0)
            for axis in (0..<order.count).reversed() {
                source += (rest % outShape[axis]) * strides[order[axis]]
                rest /= outShape[axis]
            }
            return x[source]
        }
    }

    /// The elements whose index along `axis` lies in `range`.
    public static func slice(_ x: [Double], shape: [Int], axis: Int, _ range: Range<Int>) -> [Double] {
        let inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        return (0..<outer).flatMap { o in
            x[(o * shape[axis] + range.lowerBound) * inner..<(o * shape[axis] + range.upperBound) * inner]
        }
    }

    /// Tensors of equal shapes but along `axis` joined along `axis`.
    public static func concatenate(_ parts: [(values: [Double], shape: [Int])], axis: Int) -> [Double] {
        let outer = parts[0].shape[..<axis].reduce(1, *)
        return (0..<outer).flatMap { o in
            parts.flatMap { part -> ArraySlice<Double> in
                let width = part.shape[axis...].reduce(1, *)
                return part.values[(o * width)..<((o + 1) * width)]
            }
        }
    }

    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        return strides
    }
}
