import Foundation
import TensorModule
import Testing
import _TestSupport

/// Decoding attention with grouped-query heads (`group` query heads per key/value head): against a Double
/// reference, and bit for bit against each query head run alone, for fp32 and fp16 caches, over lengths that take
/// the kernel's blocks of positions several times (64 positions of fp16 keys of 64 channels, 32 of fp32, 16 of 128).
@Suite struct GroupedAttentionTests {
    static let shapes = [(heads: 9, group: 3, d: 64, length: 150), (8, 4, 128, 37), (6, 2, 16, 70), (4, 4, 8, 5),
                         (6, 1, 64, 66), (6, 3, 5, 9), (2, 2, 32, 1)]

    struct Case {
        let heads: Int, group: Int, d: Int, length: Int, width: Int
        let q: [Float], k: [Float], v: [Float]
        /// Rounded to half precision and back, so the fp32 and fp16 kernels see the same values.
        let halfK: [UInt16], halfV: [UInt16]

        init(_ shape: (heads: Int, group: Int, d: Int, length: Int)) {
            (heads, group, d, length) = shape
            width = heads / group * d + 3  // a row stride wider than the key/value heads, as in a packed cache
            q = randomTensor([heads * d], seed: UInt64(d), requiresGrad: false).values
            func halves(_ seed: UInt64) -> [UInt16] {
                let values = randomTensor([shape.length * (shape.heads / shape.group * shape.d + 3)], seed: seed,
                                          requiresGrad: false).values
                var out = [UInt16](repeating: 0, count: values.count)
                HalfPrecision.round(values, into: &out, count: values.count, instructions: .portable)
                return out
            }
            (halfK, halfV) = (halves(UInt64(shape.length)), halves(UInt64(shape.heads + 7)))
            (k, v) = (halfK.map { Float(Float16(bitPattern: $0)) }, halfV.map { Float(Float16(bitPattern: $0)) })
        }

        /// softmax(q_h · k_g / √D) weighting v_g, g = h / group, in Double.
        var expected: [Float] {
            var out = [Float](repeating: 0, count: heads * d)
            for h in 0..<heads {
                let g = h / group * d
                let logits = (0..<length).map { j in
                    (0..<d).reduce(0.0) { $0 + Double(q[h * d + $1]) * Double(k[j * width + g + $1]) } / Double(d).squareRoot()
                }
                let weights = logits.map { exp($0 - logits.max()!) }, total = weights.reduce(0, +)
                for e in 0..<d {
                    out[h * d + e] = Float((0..<length).reduce(0.0) { $0 + weights[$1] * Double(v[$1 * width + g + e]) } / total)
                }
            }
            return out
        }

        func grouped(half: Bool, _ instructions: VectorInstructions) -> [Float] {
            var out = [Float](repeating: .nan, count: heads * d), scores = [Float](repeating: 0, count: heads * length)
            if half {
                attendOneQuery(q, halfKeys: halfK, values: halfV, length: length, heads: heads, headSize: d, width: width,
                               scores: &scores, out: &out, group: group, instructions: instructions)
            } else {
                attendOneQuery(q, keys: k, values: v, length: length, heads: heads, headSize: d, width: width,
                               scores: &scores, out: &out, group: group, instructions: instructions)
            }
            return out
        }

        /// Each query head alone, against its key/value head's columns.
        func headByHead(half: Bool, _ instructions: VectorInstructions) -> [Float] {
            var out = [Float](repeating: .nan, count: heads * d), scores = [Float](repeating: 0, count: length)
            for h in 0..<heads {
                let g = h / group * d
                q.withUnsafeBufferPointer { q in
                    out.withUnsafeMutableBufferPointer { out in
                        if half {
                            halfK.withUnsafeBufferPointer { k in
                                halfV.withUnsafeBufferPointer { v in
                                    attendOneQuery(q.baseAddress! + h * d, halfKeys: k.baseAddress! + g, values: v.baseAddress! + g,
                                                   length: length, heads: 1, headSize: d, width: width, scores: &scores,
                                                   out: out.baseAddress! + h * d, instructions: instructions)
                                }
                            }
                        } else {
                            k.withUnsafeBufferPointer { k in
                                v.withUnsafeBufferPointer { v in
                                    attendOneQuery(q.baseAddress! + h * d, keys: k.baseAddress! + g, values: v.baseAddress! + g,
                                                   length: length, heads: 1, headSize: d, width: width, scores: &scores,
                                                   out: out.baseAddress! + h * d, instructions: instructions)
                                }
                            }
                        }
                    }
                }
            }
            return out
        }
    }

    @Test(arguments: VectorInstructions.available)
    func groupedHeadsMatchTheReference(instructions: VectorInstructions) {
        for shape in Self.shapes {
            let test = Case(shape), expected = test.expected
            for half in [false, true] {
                let result = compare(test.grouped(half: half, instructions), expected, absolute: 1e-5, relative: 1e-4)
                #expect(result.passed, "\(instructions) \(shape) fp16 \(half): \(result)")
            }
        }
    }

    @Test(arguments: VectorInstructions.available)
    func groupedHeadsEqualEachHeadAlone(instructions: VectorInstructions) {
        for shape in Self.shapes {
            let test = Case(shape)
            for half in [false, true] {
                let grouped = test.grouped(half: half, instructions), alone = test.headByHead(half: half, instructions)
                #expect(grouped.map(\.bitPattern) == alone.map(\.bitPattern), "\(instructions) \(shape) fp16 \(half)")
            }
        }
    }
}
