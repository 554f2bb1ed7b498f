import Foundation
import Testing
import TensorModule
import _TestSupport

/// The ops of the Llama, Qwen and nanochat families: SiLU, the fused SwiGLU product and the QK-norm with per-head
/// gains, each forward against its formula in `Double` and backward against central finite differences.
@Suite struct FamilyOpTests {
    static func silu(_ x: Double) -> Double { x / (1 + exp(-x)) }

    @Test func siluFollowsItsFormula() {
        let x = randomTensor([2, 3, 7], seed: 11)
        let check = checkOp("silu", inputs: [x], reference: { $0[0].map(Self.silu) }) { $0[0].silu() }
        #expect(check.passed, "\(check)")
    }

    @Test func siluGatedIsSiluOfTheGateTimesUp() {
        let gate = randomTensor([2, 3, 7], seed: 12), up = randomTensor([2, 3, 7], seed: 13)
        let check = checkOp("siluGated", inputs: [gate, up], reference: { zip($0[0], $0[1]).map { Self.silu($0) * $1 } }) {
            $0[0].siluGated(by: $0[1])
        }
        #expect(check.passed, "\(check)")
        // Only the gate requiring a gradient: the up projection's is not written.
        let frozen = randomTensor([2, 3, 7], seed: 13, requiresGrad: false)
        let gradients = checkGradients([gate]) { $0[0].siluGated(by: frozen) }
        #expect(gradients.count == 1 && gradients.allSatisfy(\.passed) && frozen.gradient == nil)
    }

    @Test func headNormalizationWithGainsScalesQueriesAndKeysApart() {
        // Rows of 3 query heads, 2 key heads and 2 value heads of 4: gains [4] for the queries and for the keys.
        let x = randomTensor([2, 3, 28], seed: 14), query = randomTensor([4], seed: 15), key = randomTensor([4], seed: 16)
        let check = checkOp("normalizingHeads with gains", inputs: [x, query, key], reference: { inputs in
            stride(from: 0, to: inputs[0].count, by: 28).flatMap { start -> [Double] in
                (0..<7).flatMap { head -> [Double] in
                    let values = Array(inputs[0][(start + head * 4)..<(start + head * 4 + 4)])
                    guard head < 5 else { return values }
                    let rms = (values.map { $0 * $0 }.reduce(0, +) / 4 + 1e-5).squareRoot()
                    let gain = head < 3 ? inputs[1] : inputs[2]
                    return (0..<4).map { values[$0] / rms * gain[$0] }
                }
            }
        }) { $0[0].normalizingHeads(5, headSize: 4, epsilon: 1e-5, gains: HeadGains(query: $0[1], key: $0[2], queryHeads: 3)) }
        #expect(check.passed, "\(check)")
    }

    @Test func unitGainsEqualNoGains() {
        let x = randomTensor([2, 3, 12], seed: 17)
        let ones = Tensor.filled([2], with: 1)
        let plain = withoutGradient { x.normalizingHeads(4, headSize: 2, epsilon: 1e-6) }.values
        let gained = withoutGradient {
            x.normalizingHeads(4, headSize: 2, epsilon: 1e-6, gains: HeadGains(query: ones, key: ones, queryHeads: 2))
        }.values
        #expect(compare(gained, plain, absolute: 1e-7).passed)
    }
}
