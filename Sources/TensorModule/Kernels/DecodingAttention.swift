import CKernels

/// Causal attention of one query row to `length` cached positions, head by head (heads split across cores, a
/// group's heads on one core): `out_h = softmax(q_h K_gᵀ / √D) V_g` with `g = h / group`, `group` query heads per
/// key/value head (grouped-query attention; 1 without).
///
/// Shapes: `query` `[H·D]` (head `h` owns channels `h*D..<(h+1)*D`), `keys`/`values` `[length, ·]` with row stride
/// `width` (key/value head `g` owns columns `g*D..<(g+1)*D`), `scores` scratch `[heads, length]`, `out` `[H·D]`.
/// With AVX2 or AVX-512 the C kernel runs (it keeps a head's query and output in registers, and takes a group's
/// heads through its keys and values together, so the cache streams from memory once per group; each head's
/// result is that of the head alone, bit for bit); `.portable` runs the Swift loop below.
public func attendOneQuery(
    _ query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, length: Int,
    heads: Int, headSize d: Int, width c: Int, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
    group: Int = 1, instructions: VectorInstructions = .widest
) {
    precondition(group >= 1 && heads % group == 0, "query heads in whole groups")
    let scale = 1 / Float(d).squareRoot()
    if instructions != .portable {
        let level = Int32(instructions.rawValue)
        forEachHeadGroupRange(heads: heads, group: group, length: length, headSize: d) {
            gpt_attend_one_query(level, out, scores, query, keys, values, length, $0, $1, d, c, scale, group)
        }
        return
    }
    let q = SendablePointer(UnsafeMutablePointer(mutating: query)), o = SendablePointer(out)
    let k = SendablePointer(UnsafeMutablePointer(mutating: keys)), s = SendablePointer(scores)
    let v = SendablePointer(UnsafeMutablePointer(mutating: values))
    parallelFor(heads, minimumChunk: max(1, 8192 / max(1, length * d))) { range in
        for h in range {
            let row = s.base + h * length, query = q.base + h * d, g = h / group * d
            for j in 0..<length { row[j] = dotProduct(query, k.base + j * c + g, count: d) * scale }
            softmaxForward(out: row, input: row, rows: 1, columns: length)
            let y = o.base + h * d
            y.update(repeating: 0, count: d)
            let vectorized = d - d % 8
            for j in 0..<length {
                let weight = row[j], value = v.base + j * c + g
                var e = 0
                while e < vectorized {
                    let sum = UnsafeRawPointer(y + e).loadUnaligned(as: SIMD8<Float>.self)
                        + weight * UnsafeRawPointer(value + e).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(y + e).storeBytes(of: sum, as: SIMD8<Float>.self)
                    e += 8
                }
                while e < d {
                    y[e] += weight * value[e]
                    e += 1
                }
            }
        }
    }
}

/// ``attendOneQuery(_:keys:values:length:heads:headSize:width:scores:out:group:instructions:)`` over keys and values in
/// IEEE half precision (bit patterns; a 16-bit KV cache), widened as they are read: with AVX2 or AVX-512 the same
/// result, bit for bit, as the fp32 kernel over their fp32 values; `.portable` runs the plain C loop.
public func attendOneQuery(
    _ query: UnsafePointer<Float>, halfKeys keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>, length: Int,
    heads: Int, headSize d: Int, width c: Int, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
    group: Int = 1, instructions: VectorInstructions = .widest
) {
    precondition(group >= 1 && heads % group == 0, "query heads in whole groups")
    let scale = 1 / Float(d).squareRoot(), level = Int32(instructions.rawValue)
    forEachHeadGroupRange(heads: heads, group: group, length: length, headSize: d) {
        gpt_attend_one_query_f16(level, out, scores, query, keys, values, length, $0, $1, d, c, scale, group)
    }
}

/// Runs `kernel(first, end)` on query heads `first..<end`, the heads split across cores in whole groups of `group`
/// (a group's heads share their key/value head's cache, which the C kernels read once per group).
private func forEachHeadGroupRange(heads: Int, group: Int, length: Int, headSize d: Int, _ kernel: (Int, Int) -> Void) {
    parallelFor(heads / group, minimumChunk: max(1, 8192 / max(1, length * d * group))) { range in
        kernel(range.lowerBound * group, range.upperBound * group)
    }
}
