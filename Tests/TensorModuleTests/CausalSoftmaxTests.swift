import Foundation
import Testing
import TensorModule
import _TestSupport

/// Attention's row softmaxes (forward, recomputation from the saved log-sum-exp, backward) against the formulas in
/// Double, on each instruction set this machine has, for rows whose lengths cross the 16-lane vectors: blocks of
/// at most 64 columns (done whole in registers with AVX-512) and longer ones (row by row).
@Suite struct CausalSoftmaxTests {
    @Test(arguments: VectorInstructions.available, [(3..<37, 40), (50..<64, 64), (60..<75, 80)])
    func rowsMatchTheFormulas(instructions: VectorInstructions, block: (Range<Int>, Int)) {
        let (rows, stride) = block  // row i uses columns 0...i, zeroed up to rows.upperBound
        let count = rows.count * stride
        let scores = randomTensor([count], seed: 21, std: 3, requiresGrad: false).values
        let upstream = randomTensor([count], seed: 22, requiresGrad: false).values
        var probabilities = scores, logSumExp = [Float](repeating: .nan, count: rows.upperBound)
        causalSoftmaxRows(&probabilities, stride: stride, rows: rows, logSumExp: &logSumExp, recompute: false,
                          instructions: instructions)
        var recomputed = scores
        causalSoftmaxRows(&recomputed, stride: stride, rows: rows, logSumExp: &logSumExp, recompute: true,
                          instructions: instructions)
        var gradient = upstream
        causalSoftmaxBackwardRows(&gradient, probabilities: probabilities, stride: stride, rows: rows,
                                  instructions: instructions)
        for i in rows {
            let base = (i - rows.lowerBound) * stride
            let s = (0...i).map { Double(scores[base + $0]) }, top = s.max()!
            let total = s.map { exp($0 - top) }.reduce(0, +)
            let p = s.map { exp($0 - top) / total }
            let g = (0...i).map { Double(upstream[base + $0]) }
            let weighted = zip(g, p).map { $0 * $1 }.reduce(0, +)
            #expect(abs(Double(logSumExp[i]) - (top + log(total))) < 1e-5, "\(instructions) row \(i) lse")
            for j in 0..<rows.upperBound {
                let expected = j <= i ? p[j] : 0, dS = j <= i ? p[j] * (g[j] - weighted) : 0
                #expect(abs(Double(probabilities[base + j]) - expected) < 1e-6, "\(instructions) p[\(i), \(j)]")
                #expect(abs(Double(recomputed[base + j]) - expected) < 1e-6, "\(instructions) exp[\(i), \(j)]")
                #expect(abs(Double(gradient[base + j]) - dS) < 1e-5, "\(instructions) dS[\(i), \(j)]")
            }
        }
    }
}
