import Foundation
import TensorModule
import Testing
import _TestSupport

/// Fused attention over more rows than one block of queries (`attentionRowBlock`, 64), where the backward visits the
/// blocks in an order and writes or adds the first block's `dV` and `dK`: against a plain Double implementation of
/// the formulas, and a second backward into the same gradient adding exactly as much again.
@Suite struct LongAttentionTests {
    /// `softmax(q kᵀ / √d)` over each causal row, its output and the qkv gradient for upstream gradient `dy`, in
    /// Double, one batch row and head at a time. `qkv`: `[B, T, 3C]`; `dy`: `[B, T, C]`.
    static func reference(qkv: [Float], dy: [Float], batch: Int, time t: Int, channels c: Int, heads: Int)
        -> (out: [Double], gradient: [Double])
    {
        let d = c / heads, scale = 1 / Double(d).squareRoot()
        var out = [Double](repeating: 0, count: batch * t * c), gradient = [Double](repeating: 0, count: qkv.count)
        for b in 0..<batch {
            for h in 0..<heads {
                func at(_ i: Int, _ part: Int, _ e: Int) -> Int { (b * t + i) * 3 * c + part * c + h * d + e }
                func outAt(_ i: Int, _ e: Int) -> Int { (b * t + i) * c + h * d + e }
                for i in 0..<t {
                    func dot(_ a: (Int) -> Int, _ b: (Int) -> Int, _ x: [Float], _ y: [Float]) -> Double {
                        (0..<d).reduce(0.0) { $0 + Double(x[a($1)]) * Double(y[b($1)]) }
                    }
                    let scores = (0...i).map { j in dot({ at(i, 0, $0) }, { at(j, 1, $0) }, qkv, qkv) * scale }
                    let top = scores.max()!, exps = scores.map { exp($0 - top) }, total = exps.reduce(0, +)
                    let p = exps.map { $0 / total }
                    for e in 0..<d { out[outAt(i, e)] = (0...i).reduce(0.0) { $0 + p[$1] * Double(qkv[at($1, 2, e)]) } }
                    let dp = (0...i).map { j in dot({ outAt(i, $0) }, { at(j, 2, $0) }, dy, qkv) }
                    let mean = zip(p, dp).reduce(0.0) { $0 + $1.0 * $1.1 }
                    for j in 0...i {
                        let ds = p[j] * (dp[j] - mean) * scale
                        for e in 0..<d {
                            gradient[at(j, 2, e)] += p[j] * Double(dy[outAt(i, e)])
                            gradient[at(i, 0, e)] += ds * Double(qkv[at(j, 1, e)])
                            gradient[at(j, 1, e)] += ds * Double(qkv[at(i, 0, e)])
                        }
                    }
                }
            }
        }
        return (out, gradient)
    }

    @Test(arguments: [40, 150])
    func fusedAttentionMatchesDoubleReference(time: Int) {
        let (batch, channels, heads) = (2, 12, 3)
        let qkv = randomTensor([batch, time, 3 * channels], seed: 21)
        let dy = randomTensor([batch, time, channels], seed: 22, requiresGrad: false)
        var generator = SeededGenerator(seed: 1)
        let out = qkv.causalSelfAttention(heads: heads, generator: &generator)
        (out * dy).sum().backward()
        let expected = Self.reference(qkv: qkv.values, dy: dy.values, batch: batch, time: time, channels: channels,
                                      heads: heads)
        #expect(compare(out.values, expected.out.map(Float.init), absolute: 1e-5).passed, "output")
        #expect(compare(qkv.gradient!, expected.gradient.map(Float.init), absolute: 1e-4).passed, "qkv gradient")
    }

    /// A second backward adds to the gradient that the first one wrote (with dropout, the masks come again from the
    /// same seed): twice the first, whether the first wrote its blocks or zeroed the gradient and added.
    @Test(arguments: [(150, Float(0)), (150, Float(0.3)), (40, Float(0.3))])
    func secondBackwardAdds(time: Int, dropout: Float) {
        let qkv = randomTensor([1, time, 24], seed: 23)
        let dy = randomTensor([1, time, 8], seed: 24, requiresGrad: false)
        func backward() {
            var generator = SeededGenerator(seed: 3)
            (qkv.causalSelfAttention(heads: 2, dropout: dropout, generator: &generator) * dy).sum().backward()
        }
        backward()
        let once = qkv.gradient!
        backward()
        #expect(compare(qkv.gradient!, once.map { 2 * $0 }, absolute: 1e-5).passed)
        #expect(once.contains { $0 != 0 })
    }
}
