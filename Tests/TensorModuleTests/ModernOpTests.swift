import Foundation
import Testing
import TensorModule
import _TestSupport

/// The modern layout's ops: each backward against central finite differences, each forward against its formula
/// written out naively.
@Suite struct ModernOpTests {
    func expectAllPass(_ results: [Comparison], _ name: String) {
        #expect(!results.isEmpty, "\(name): no input required a gradient")
        for (i, result) in results.enumerated() { #expect(result.passed, "\(name) input \(i): \(result)") }
    }

    /// cos/sin tables `[positions, D/2]` of the angle `t / 10000^(2i/D)`.
    static func tables(positions: Int, headSize: Int) -> (TensorStorage, TensorStorage) {
        let half = headSize / 2
        let angles = (0..<positions).flatMap { t in
            (0..<half).map { i in Double(t) / pow(10_000, Double(2 * i) / Double(headSize)) }
        }
        return (TensorStorage(angles.map { Float(cos($0)) }), TensorStorage(angles.map { Float(sin($0)) }))
    }

    @Test func rmsNormWithAndWithoutGain() {
        let x = randomTensor([2, 3, 6], seed: 1), g = randomTensor([6], seed: 2)
        expectAllPass(checkGradients([x, g]) { $0[0].rmsNorm(weight: $0[1], epsilon: 1e-5) }, "rmsNorm")
        expectAllPass(checkGradients([x]) { $0[0].rmsNorm(weight: nil, epsilon: 1e-5) }, "rmsNorm without gain")
        let values = x.values, y = withoutGradient { x.rmsNorm(weight: nil, epsilon: 1e-5) }.values
        let row = Array(values[0..<6]), rms = (row.map { Double($0 * $0) }.reduce(0, +) / 6 + 1e-5).squareRoot()
        #expect(compare(Array(y[0..<6]), row.map { Float(Double($0) / rms) }, absolute: 1e-6).passed)
    }

    @Test func headNormalizationLeavesTheValuesAlone() {
        let x = randomTensor([2, 3, 12], seed: 3)  // heads of 2: q, k (4 heads) then v (2 heads) untouched
        expectAllPass(checkGradients([x]) { $0[0].normalizingHeads(4, headSize: 2, epsilon: 1e-5) }, "normalizingHeads")
        let y = withoutGradient { x.normalizingHeads(4, headSize: 2, epsilon: 1e-5) }.values
        #expect(Array(y[8..<12]) == Array(x.values[8..<12]))
        let head = Array(x.values[2..<4]), rms = ((head[0] * head[0] + head[1] * head[1]) / 2 + 1e-5).squareRoot()
        #expect(compare(Array(y[2..<4]), head.map { $0 / rms }, absolute: 1e-6).passed)
    }

    @Test func rotaryEmbeddingFollowsRotateHalf() {
        let (cosine, sine) = Self.tables(positions: 9, headSize: 4)
        let x = randomTensor([2, 3, 12], seed: 4)  // 3 heads of 4 rotated, 0 left
        expectAllPass(checkGradients([x]) {
            $0[0].rotatingHeads(2, headSize: 4, cosine: cosine, sine: sine, start: 5)
        }, "rotatingHeads")
        let y = withoutGradient { x.rotatingHeads(2, headSize: 4, cosine: cosine, sine: sine, start: 5) }.values
        // Batch 1, position 5 + 2, head 1: x·cos + rotate_half(x)·sin, rotate_half(x) = (-x₂, x₁).
        let offset = 1 * 36 + 2 * 12 + 4, x1 = Array(x.values[offset..<offset + 2]), x2 = Array(x.values[offset + 2..<offset + 4])
        var expected = [Float](repeating: 0, count: 4)
        for i in 0..<2 {
            let angle = Double(7) / pow(10_000, Double(2 * i) / 4)
            expected[i] = x1[i] * Float(cos(angle)) - x2[i] * Float(sin(angle))
            expected[i + 2] = x2[i] * Float(cos(angle)) + x1[i] * Float(sin(angle))
        }
        #expect(compare(Array(y[offset..<offset + 4]), expected, absolute: 1e-6).passed)
        #expect(Array(y[(offset + 4)..<(offset + 8)]) == Array(x.values[(offset + 4)..<(offset + 8)]), "head 2 is not rotated")
    }

    @Test func keyValueHeadsRepeatForTheirQueryHeads() {
        let x = randomTensor([2, 2, 16], seed: 5)  // 4 query heads, 2 key/value heads, D = 2: 8 + 4 + 4
        expectAllPass(checkGradients([x]) {
            $0[0].expandingKeyValueHeads(queryHeads: 4, keyValueHeads: 2, headSize: 2)
        }, "expandingKeyValueHeads")
        let y = withoutGradient { x.expandingKeyValueHeads(queryHeads: 4, keyValueHeads: 2, headSize: 2) }.values
        let row = Array(x.values[0..<16])
        let keys = Array(row[8..<12]), values = Array(row[12..<16])
        // repeat_kv: key heads k0 k0 k1 k1, value heads v0 v0 v1 v1.
        let repeatedKeys: [Float] = [0, 0, 1, 1].flatMap { g in keys[(2 * g)..<(2 * g + 2)] }
        let repeatedValues: [Float] = [0, 0, 1, 1].flatMap { g in values[(2 * g)..<(2 * g + 2)] }
        let expected: [Float] = Array(row[0..<8]) + repeatedKeys + repeatedValues
        #expect(Array(y[0..<24]) == expected)
    }

    @Test func softcapSquashesSmoothly() {
        let x = randomTensor([3, 5], seed: 6, std: 3)
        expectAllPass(checkGradients([x]) { $0[0].softcapped(2) }, "softcapped")
        let y = withoutGradient { x.softcapped(2) }.values
        #expect(compare(y, x.values.map { 2 * Float(tanh(Double($0) / 2)) }, absolute: 1e-6).passed)
    }
}
