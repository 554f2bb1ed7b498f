import Foundation
import Testing
import TensorModule
import _TestSupport

/// The layer-norm kernels (forward and backward) against the formulas written out in Double, on each instruction
/// set this machine has: widths with a tail on every vector length, with and without bias, accumulating or writing
/// the input gradient, and enough rows for the parameter gradients to be summed per block.
@Suite struct LayerNormKernelTests {
    struct Reference {
        var out: [Double], mean: [Double], rstd: [Double], dx: [Double], dw: [Double], db: [Double]
    }

    /// `y = (x - mean) rstd w + b` per row and its gradients for the upstream gradient `dy`, in Double.
    static func reference(x: [Float], w: [Float], b: [Float]?, dy: [Float], rows: Int, columns: Int) -> Reference {
        var r = Reference(out: [], mean: [], rstd: [], dx: [], dw: Array(repeating: 0, count: columns),
                          db: Array(repeating: 0, count: columns))
        for row in 0..<rows {
            let xs = (0..<columns).map { Double(x[row * columns + $0]) }
            let g = (0..<columns).map { Double(dy[row * columns + $0]) }
            let mean = xs.reduce(0, +) / Double(columns)
            let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(columns)
            let rstd = 1 / (variance + 1e-5).squareRoot()
            let xh = xs.map { ($0 - mean) * rstd }
            let dn = (0..<columns).map { g[$0] * Double(w[$0]) }
            let meanDn = dn.reduce(0, +) / Double(columns)
            let meanDnXh = zip(dn, xh).map { $0 * $1 }.reduce(0, +) / Double(columns)
            r.mean.append(mean)
            r.rstd.append(rstd)
            for j in 0..<columns {
                r.out.append(xh[j] * Double(w[j]) + (b.map { Double($0[j]) } ?? 0))
                r.dx.append(rstd * (dn[j] - meanDn - xh[j] * meanDnXh))
                r.dw[j] += g[j] * xh[j]
                r.db[j] += g[j]
            }
        }
        return r
    }

    @Test(arguments: VectorInstructions.available)
    func matchesTheFormulas(instructions: VectorInstructions) {
        for (rows, columns, withBias) in [(3, 37, true), (5, 64, false), (300, 23, true)] {
            let x = randomTensor([rows * columns], seed: 1, requiresGrad: false).values.map { $0 * 3 + 1 }
            let w = randomTensor([columns], seed: 2, requiresGrad: false).values
            let b = withBias ? randomTensor([columns], seed: 3, requiresGrad: false).values : nil
            let dy = randomTensor([rows * columns], seed: 4, requiresGrad: false).values
            let expected = Self.reference(x: x, w: w, b: b, dy: dy, rows: rows, columns: columns)
            var out = [Float](repeating: .nan, count: rows * columns)
            var mean = [Float](repeating: .nan, count: rows), rstd = [Float](repeating: .nan, count: rows)
            layerNormForward(
                out: &out, mean: &mean, rstd: &rstd, input: x, weight: w, bias: b, rows: rows, columns: columns,
                epsilon: 1e-5, instructions: instructions)
            let label = "\(instructions) \(rows)x\(columns)"
            #expect(compare(out, expected.out.map(Float.init), absolute: 1e-5, relative: 1e-5).passed, "\(label)")
            #expect(compare(mean, expected.mean.map(Float.init), absolute: 1e-6, relative: 1e-6).passed, "\(label)")
            #expect(compare(rstd, expected.rstd.map(Float.init), absolute: 1e-6, relative: 1e-5).passed, "\(label)")
            for accumulate in [false, true] {
                // Gradients start at 1 so that adding and writing differ by exactly that 1.
                var dx = [Float](repeating: accumulate ? 1 : .nan, count: rows * columns)
                var dw = [Float](repeating: 1, count: columns), db = [Float](repeating: 1, count: columns)
                layerNormBackward(
                    inputGradient: &dx, accumulate: accumulate, weightGradient: &dw, biasGradient: &db,
                    outputGradient: dy, input: x, weight: w, mean: mean, rstd: rstd, rows: rows, columns: columns,
                    instructions: instructions)
                let offset: Double = accumulate ? 1 : 0
                let dxExpected = expected.dx.map { Float($0 + offset) }
                #expect(compare(dx, dxExpected, absolute: 1e-4, relative: 1e-4).passed, "\(label) dx \(accumulate)")
                #expect(compare(dw, expected.dw.map { Float($0 + 1) }, absolute: 1e-3, relative: 1e-4).passed,
                        "\(label) dw")
                #expect(compare(db, expected.db.map { Float($0 + 1) }, absolute: 1e-3, relative: 1e-4).passed,
                        "\(label) db")
            }
        }
    }
}
