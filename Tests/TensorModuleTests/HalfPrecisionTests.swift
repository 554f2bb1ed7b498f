import Testing
import _TestSupport
@testable import TensorModule

/// The 16-bit KV cache's pieces: rounding to and widening from IEEE half precision, and attention over half-precision
/// keys and values, on every instruction set this machine has.
@Suite struct HalfPrecisionTests {
    /// Bit patterns from `torch.tensor([v]).to(torch.float16)` (round to nearest, ties to even; past 65504 to
    /// infinity; subnormals below 2^-14).
    @Test(arguments: VectorInstructions.available)
    func roundingMatchesPyTorch(instructions: VectorInstructions) {
        let cases: [(UInt32, UInt16)] = [
            (0x3F80_0000, 0x3C00), (0x3F80_2000, 0x3C01), (0x3F80_1000, 0x3C00), (0x3F80_3000, 0x3C02),
            (0xC020_0000, 0xC100), (0x477F_E000, 0x7BFF), (0x477F_F000, 0x7C00), (0x477F_EFFD, 0x7BFF),
            (0x3727_C5AC, 0x00A8), (0x3380_0000, 0x0001), (0x32FF_FAE5, 0x0000), (0x3300_D959, 0x0001),
            (0x8000_0000, 0x8000), (0x3EAA_AAAB, 0x3555),
        ]
        // 17 copies: a whole vector of 16 (or two of 8) and the scalar tail both see every case.
        let input = cases.flatMap { Array(repeating: Float(bitPattern: $0.0), count: 17) }
        var out = [UInt16](repeating: 0, count: input.count)
        HalfPrecision.round(input, into: &out, count: input.count, instructions: instructions)
        for (i, (bits, expected)) in cases.enumerated() {
            #expect(out[(17 * i)..<(17 * i + 17)].allSatisfy { $0 == expected }, "0x\(String(bits, radix: 16))")
        }
    }

    /// Swift's own `Float16` is the reference: every finite or infinite pattern widens exactly and rounds back to
    /// itself, and random floats of every magnitude round as `Float16(x)` does.
    @Test(arguments: VectorInstructions.available)
    func everyPatternWidensAndRoundsAsSwiftsFloat16(instructions: VectorInstructions) {
        let patterns = (0...UInt16.max).filter { !Float16(bitPattern: $0).isNaN }
        var widened = [Float](repeating: .nan, count: patterns.count)
        HalfPrecision.widen(patterns, into: &widened, count: patterns.count, instructions: instructions)
        #expect(zip(patterns, widened).allSatisfy { Float(Float16(bitPattern: $0)).bitPattern == $1.bitPattern })
        var back = [UInt16](repeating: 0, count: patterns.count)
        HalfPrecision.round(widened, into: &back, count: widened.count, instructions: instructions)
        #expect(back == patterns)

        var generator = SeededGenerator(seed: 16)
        let floats = (0..<4099).map { _ in
            Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()) & 0xC7FF_FFFF)  // |x| < 2^17 or so
        }
        var rounded = [UInt16](repeating: 0, count: floats.count)
        HalfPrecision.round(floats, into: &rounded, count: floats.count, instructions: instructions)
        #expect(zip(floats, rounded).allSatisfy { Float16($0).bitPattern == $1 })
    }

    /// One query over half-precision keys and values gives, with AVX2 or AVX-512, exactly what the fp32 kernel gives
    /// over their widened values (the plain C loop too); the portable Swift loop stays within fp32 rounding of it.
    @Test(arguments: VectorInstructions.available)
    func attentionOverHalvesEqualsAttentionOverTheirValues(instructions: VectorInstructions) {
        for (heads, d, length) in [(6, 64, 70), (2, 16, 1), (3, 8, 33), (2, 5, 9), (1, 128, 17)] {
            let width = heads * d + 3
            let q = randomTensor([heads * d], seed: UInt64(d), requiresGrad: false).values
            let halves = { (seed: UInt64) -> [UInt16] in
                let values = randomTensor([length * width], seed: seed, requiresGrad: false).values
                var out = [UInt16](repeating: 0, count: values.count)
                HalfPrecision.round(values, into: &out, count: values.count, instructions: .portable)
                return out
            }
            let k = halves(UInt64(length)), v = halves(UInt64(heads))
            let kf = k.map { Float(Float16(bitPattern: $0)) }, vf = v.map { Float(Float16(bitPattern: $0)) }
            var scores = [Float](repeating: 0, count: heads * length)
            var half = [Float](repeating: .nan, count: heads * d), full = half
            attendOneQuery(q, halfKeys: k, values: v, length: length, heads: heads, headSize: d, width: width,
                           scores: &scores, out: &half, instructions: instructions)
            attendOneQuery(q, keys: kf, values: vf, length: length, heads: heads, headSize: d, width: width,
                           scores: &scores, out: &full, instructions: instructions)
            let shape = "\(instructions) heads \(heads) D \(d) length \(length)"
            if instructions != .portable { #expect(half == full, "\(shape): bit for bit") }  // the same C loops
            let result = compare(half, full, absolute: 1e-5, relative: 1e-4)
            #expect(result.passed, "\(shape): \(result)")
        }
    }
}
