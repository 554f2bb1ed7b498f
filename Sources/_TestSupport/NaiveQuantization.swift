import Foundation
import TensorModule

extension Naive {
    // MARK: - 8-bit weights (Q8_0)

    /// llama.cpp's `quantize_row_q8_0_ref` for each row of `x` `[N, C]`, written out in Swift: per block of 32,
    /// `d = max|x| / 127`, `q = round(x · (1 / d))` (half away from zero; 0 where `d` is 0). Returns the values
    /// `[N, C]` and the unrounded scales `[N, ⌈C / 32⌉]`.
    public static func quantizeQ8(_ x: [Float], columns: Int) -> (q: [Int], d: [Float]) {
        let rows = x.count / columns, blocks = (columns + 31) / 32
        var q = [Int](repeating: 0, count: x.count), d = [Float](repeating: 0, count: rows * blocks)
        for r in 0..<rows {
            for b in 0..<blocks {
                let range = (r * columns + 32 * b)..<(r * columns + min(columns, 32 * b + 32))
                let amax = x[range].reduce(Float(0)) { max($0, abs($1)) }
                let scale = amax / 127, inverse = scale != 0 ? 1 / scale : 0
                for i in range { q[i] = Int((x[i] * inverse).rounded(.toNearestOrAwayFromZero)) }
                d[r * blocks + b] = scale
            }
        }
        return (q, d)
    }

    /// The fp32 values of `x` `[N, C]` stored in Q8_0: `Float16(d) · q` per element.
    public static func dequantizedQ8(_ x: [Float], columns: Int) -> [Float] {
        let (q, d) = quantizeQ8(x, columns: columns), blocks = (columns + 31) / 32
        return q.indices.map { i in
            Float(Float16(d[(i / columns) * blocks + (i % columns) / 32])) * Float(q[i])
        }
    }

    /// `a [M, K] Wᵀ` in Double with `W [N, K]` in Q8_0 and `a`'s rows quantised per block the same way (fp32
    /// scales): what an 8-bit product computes, without its fp32 rounding.
    public static func q8Product(_ a: [Float], weight: [Float], k: Int) -> [Double] {
        let w = dequantizedQ8(weight, columns: k), (q, d) = quantizeQ8(a, columns: k), blocks = (k + 31) / 32
        let m = a.count / k, n = weight.count / k
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k {
                    total += Double(w[j * k + p]) * Double(d[i * blocks + p / 32]) * Double(q[i * k + p])
                }
                out[i * n + j] = total
            }
        }
        return out
    }
}
