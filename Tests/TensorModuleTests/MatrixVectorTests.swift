import Dispatch
import Foundation
import Testing
import TensorModule
import _TestSupport

/// The decoding kernels (fp32 and bfloat16 matrix-vector products) against a naive double-precision loop, the
/// bfloat16 rounding against PyTorch's, and the worker pool under concurrent and nested use.
@Suite struct MatrixVectorTests {
    /// Shapes that reach every part of each kernel: 64/32-wide bodies, 16/8-wide remainders, scalar tails.
    static let shapes: [(rows: Int, columns: Int)] = [
        (1, 1), (5, 7), (9, 16), (13, 33), (70, 384), (3, 1541), (2, 48), (4, 100),
    ]

    /// `Σ_c weight(r, c) * x[c]` in Double, plus `start[r]` when accumulating.
    func naive(rows: Int, columns: Int, weight: (Int) -> Float, x: [Float], start: [Float]?) -> [Float] {
        (0..<rows).map { r in
            var total = Double(start?[r] ?? 0)
            for c in 0..<columns { total += Double(weight(r * columns + c)) * Double(x[c]) }
            return Float(total)
        }
    }

    @Test(arguments: [false, true], VectorInstructions.available)
    func float32MatchesNaive(accumulate: Bool, instructions: VectorInstructions) {
        for (rows, columns) in Self.shapes {
            let w = randomTensor([rows * columns], seed: UInt64(rows * 31 + columns), requiresGrad: false)
            let x = randomTensor([columns], seed: 7, requiresGrad: false).values
            var out = randomTensor([rows], seed: 9, requiresGrad: false).values
            let expected = naive(rows: rows, columns: columns, weight: { w.values[$0] }, x: x,
                                 start: accumulate ? out : nil)
            out.withUnsafeMutableBufferPointer { o in
                matrixVectorProduct(out: o.baseAddress!, weight: w.storage.pointer, input: x, rows: rows,
                                    columns: columns, accumulate: accumulate, instructions: instructions)
            }
            let result = compare(out, expected, absolute: 1e-4, relative: 1e-4)
            #expect(result.passed, "fp32 \(instructions) \(rows)x\(columns): \(result)")
        }
    }

    @Test(arguments: [false, true], VectorInstructions.available)
    func bfloat16MatchesNaiveOnRoundedWeights(accumulate: Bool, instructions: VectorInstructions) {
        for (rows, columns) in Self.shapes {
            let w = randomTensor([rows * columns], seed: UInt64(rows * 17 + columns), requiresGrad: false)
            let half = BFloat16Matrix(w.storage.pointer, rows: rows, columns: columns)
            let x = randomTensor([columns], seed: 5, requiresGrad: false).values
            var out = randomTensor([rows], seed: 3, requiresGrad: false).values
            let expected = naive(rows: rows, columns: columns, weight: { half[$0] }, x: x,
                                 start: accumulate ? out : nil)
            out.withUnsafeMutableBufferPointer { o in
                matrixVectorProduct(out: o.baseAddress!, weight: half, input: x, accumulate: accumulate,
                                    instructions: instructions)
            }
            let result = compare(out, expected, absolute: 1e-4, relative: 1e-4)
            #expect(result.passed, "bf16 \(instructions) \(rows)x\(columns): \(result)")
            // The rounded weights stay within bfloat16's half-ulp (2^-9 relative) of the originals.
            for i in 0..<rows * columns {
                #expect(abs(half[i] - w.values[i]) <= abs(w.values[i]) / 256)
            }
        }
    }

    /// One query against cached keys and values, per head: softmax(q·k / √D) weighting the values, in Double.
    @Test(arguments: VectorInstructions.available)
    func oneQueryAttentionMatchesNaive(instructions: VectorInstructions) {
        // Head sizes that take the 16-wide, the 8-wide and the plain path; lengths 1 (one key) to past 64.
        for (heads, d, length) in [(6, 64, 70), (2, 16, 1), (3, 8, 33), (2, 5, 9), (1, 128, 17)] {
            let width = heads * d + 3  // a row stride wider than the heads, as in a packed cache
            let q = randomTensor([heads * d], seed: UInt64(d), requiresGrad: false).values
            let k = randomTensor([length * width], seed: UInt64(length), requiresGrad: false).values
            let v = randomTensor([length * width], seed: UInt64(heads), requiresGrad: false).values
            var expected = [Float](repeating: 0, count: heads * d)
            for h in 0..<heads {
                let logits = (0..<length).map { j in
                    (0..<d).reduce(0.0) { $0 + Double(q[h * d + $1]) * Double(k[j * width + h * d + $1]) }
                        / Double(d).squareRoot()
                }
                let weights = logits.map { exp($0 - logits.max()!) }, total = weights.reduce(0, +)
                for e in 0..<d {
                    let sum = (0..<length).reduce(0.0) { $0 + weights[$1] * Double(v[$1 * width + h * d + e]) }
                    expected[h * d + e] = Float(sum / total)
                }
            }
            var out = [Float](repeating: .nan, count: heads * d), scores = [Float](repeating: 0, count: heads * length)
            attendOneQuery(q, keys: k, values: v, length: length, heads: heads, headSize: d, width: width,
                           scores: &scores, out: &out, instructions: instructions)
            let result = compare(out, expected, absolute: 1e-5, relative: 1e-4)
            #expect(result.passed, "\(instructions) heads \(heads) D \(d) length \(length): \(result)")
        }
    }

    /// Bit patterns from `torch.tensor([v]).to(torch.bfloat16)` (round to nearest, ties to even).
    @Test func bfloat16RoundingMatchesPyTorch() {
        let cases: [(UInt32, UInt16)] = [
            (0x3F80_0000, 0x3F80), (0x3F80_8000, 0x3F80), (0x3F81_8000, 0x3F82), (0x3F80_8008, 0x3F81),
            (0xC000_0000, 0xC000), (0x7F7F_FFFF, 0x7F80), (0x0001_16C2, 0x0001),
        ]
        for (input, expected) in cases {
            #expect(bfloat16Bits(Float(bitPattern: input)) == expected, "0x\(String(input, radix: 16))")
        }
        #expect(Float(bitPattern: UInt32(bfloat16Bits(.nan)) << 16).isNaN)
    }

    @Test func parallelForCoversEveryIndexFromConcurrentAndNestedCallers() {
        let callers = 4, count = 10_000
        let totals = UnsafeMutableBufferPointer<Int>.allocate(capacity: callers)
        defer { totals.deallocate() }
        let t = SendablePointer(totals.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            var sums = [Int](repeating: 0, count: count)
            for _ in 0..<50 {
                sums.withUnsafeMutableBufferPointer { buffer in
                    let s = SendablePointer(buffer.baseAddress!)
                    parallelFor(count / 100) { outer in
                        for block in outer {
                            parallelFor(100) { inner in for i in inner { s.base[block * 100 + i] += 1 } }
                        }
                    }
                }
            }
            t.base[caller] = sums.allSatisfy { $0 == 50 } ? 1 : 0
        }
        #expect(Array(totals) == [Int](repeating: 1, count: callers))
    }
}

@Suite struct BufferCacheTests {
    @Test func reusesExactSizesWithinTheLimitAndTrims() {
        let size = BufferCache.minimumBytes, cache = BufferCache(limitBytes: 2 * size)
        let a = cache.allocate(byteCount: size), b = cache.allocate(byteCount: size)
        let c = cache.allocate(byteCount: 2 * size)
        #expect(Int(bitPattern: a) % 64 == 0)
        cache.release(a, byteCount: size)
        cache.release(b, byteCount: size)
        cache.release(c, byteCount: 2 * size)  // over the limit: freed, not kept
        #expect(cache.heldBytes == 2 * size)
        let again = cache.allocate(byteCount: size)
        #expect(again == b || again == a)
        #expect(cache.heldBytes == size)
        let other = cache.allocate(byteCount: size + 64)  // no idle buffer of this size
        #expect(other != a && other != b)
        cache.release(other, byteCount: size + 64)
        cache.release(again, byteCount: size)
        cache.trim()
        #expect(cache.heldBytes == 0)
        let small = cache.allocate(byteCount: 64)
        cache.release(small, byteCount: 64)
        #expect(cache.heldBytes == 0)
    }
}
