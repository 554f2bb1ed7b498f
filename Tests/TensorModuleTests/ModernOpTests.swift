import Foundation
import Testing
import TensorModule
import _TestSupport

/// The modern layout's ops, each checked by ``checkOp(_:inputs:reference:forwardTolerance:epsilon:gradientTolerance:op:)``:
/// forward against its formula written out naively in `Double`, backward against central finite differences.
@Suite struct ModernOpTests {
    func expectPasses(_ check: OpCheck, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(check.passed, "\(check)", sourceLocation: sourceLocation)
    }

    /// The angle `t / 10000^(2i/D)` of position `t`, pair `i`, head size `D`.
    static func angle(position t: Int, pair i: Int, headSize: Int) -> Double {
        Double(t) / pow(10_000, Double(2 * i) / Double(headSize))
    }

    /// cos/sin tables `[positions, D/2]` of ``angle(position:pair:headSize:)``.
    static func tables(positions: Int, headSize: Int) -> (TensorStorage, TensorStorage) {
        let angles = (0..<positions).flatMap { t in (0..<headSize / 2).map { angle(position: t, pair: $0, headSize: headSize) } }
        return (TensorStorage(angles.map { Float(cos($0)) }), TensorStorage(angles.map { Float(sin($0)) }))
    }

    /// Each row of `width` values split into heads of `headSize`: the first `heads` transformed by `transform`
    /// (given the row index and the head index), the rest copied.
    static func perHead(_ x: [Double], width: Int, headSize: Int, heads: Int,
                        _ transform: (_ row: Int, _ head: Int, [Double]) -> [Double]) -> [Double] {
        stride(from: 0, to: x.count, by: width).enumerated().flatMap { row, start -> [Double] in
            (0..<(width / headSize)).flatMap { head -> [Double] in
                let values = Array(x[(start + head * headSize)..<(start + (head + 1) * headSize)])
                return head < heads ? transform(row, head, values) : values
            }
        }
    }

    @Test func rmsNormWithAndWithoutGain() {
        let x = randomTensor([2, 3, 6], seed: 1), g = randomTensor([6], seed: 2)
        expectPasses(checkOp("rmsNorm", inputs: [x, g], reference: { Naive.rmsNorm($0[0], weight: $0[1], columns: 6, epsilon: 1e-5) }) {
            $0[0].rmsNorm(weight: $0[1], epsilon: 1e-5)
        })
        expectPasses(checkOp("rmsNorm without gain", inputs: [x], reference: {
            Naive.rmsNorm($0[0], weight: nil, columns: 6, epsilon: 1e-5)
        }) { $0[0].rmsNorm(weight: nil, epsilon: 1e-5) })
    }

    @Test func headNormalizationLeavesTheValuesAlone() {
        let x = randomTensor([2, 3, 12], seed: 3)  // heads of 2: q, k (4 heads) normalized, then v (2 heads) untouched
        expectPasses(checkOp("normalizingHeads", inputs: [x], reference: {
            Self.perHead($0[0], width: 12, headSize: 2, heads: 4) { _, _, head in Naive.rmsNorm(head, weight: nil, columns: 2, epsilon: 1e-5) }
        }) { $0[0].normalizingHeads(4, headSize: 2, epsilon: 1e-5) })
    }

    @Test func rotaryEmbeddingFollowsRotateHalf() {
        let (cosine, sine) = Self.tables(positions: 9, headSize: 4)
        let x = randomTensor([2, 3, 12], seed: 4)  // 2 heads of 4 rotated, the third left alone
        // Row r is position 5 + r % 3: x·cos + rotate_half(x)·sin, rotate_half(x) = (-x₂, x₁).
        expectPasses(checkOp("rotatingHeads", inputs: [x], reference: {
            Self.perHead($0[0], width: 12, headSize: 4, heads: 2) { row, _, head in
                let angles = (0..<2).map { Self.angle(position: 5 + row % 3, pair: $0, headSize: 4) }
                return [head[0] * cos(angles[0]) - head[2] * sin(angles[0]), head[1] * cos(angles[1]) - head[3] * sin(angles[1]),
                        head[2] * cos(angles[0]) + head[0] * sin(angles[0]), head[3] * cos(angles[1]) + head[1] * sin(angles[1])]
            }
        }) { $0[0].rotatingHeads(2, headSize: 4, cosine: cosine, sine: sine, start: 5) })
    }

    @Test func keyValueHeadsRepeatForTheirQueryHeads() {
        let x = randomTensor([2, 2, 16], seed: 5)  // 4 query heads, 2 key/value heads, D = 2: 8 + 4 + 4
        // repeat_kv: key heads k0 k0 k1 k1, value heads v0 v0 v1 v1.
        expectPasses(checkOp("expandingKeyValueHeads", inputs: [x], reference: {
            stride(from: 0, to: $0[0].count, by: 16).flatMap { [x = $0[0]] start -> [Double] in
                let row = Array(x[start..<(start + 16)])
                let keys = [0, 0, 1, 1].flatMap { g in row[(8 + 2 * g)..<(10 + 2 * g)] }
                let values = [0, 0, 1, 1].flatMap { g in row[(12 + 2 * g)..<(14 + 2 * g)] }
                return Array(row[0..<8]) + keys + values
            }
        }) { $0[0].expandingKeyValueHeads(queryHeads: 4, keyValueHeads: 2, headSize: 2) })
    }

    @Test func softcapSquashesSmoothly() {
        let x = randomTensor([3, 5], seed: 6, std: 3)
        expectPasses(checkOp("softcapped", inputs: [x], reference: { $0[0].map { 2 * tanh($0 / 2) } }) { $0[0].softcapped(2) })
    }
}
