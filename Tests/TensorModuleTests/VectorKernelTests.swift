import Foundation
import Testing
import TensorModule
import _TestSupport

/// The vectorized exponentials behind every softmax and the AdamW kernel, against Double formulas, on each
/// instruction set this machine has.
@Suite struct VectorKernelTests {
    @Test(arguments: VectorInstructions.available)
    func matchesDoubleExpAndSumsTheRow(instructions: VectorInstructions) {
        // Counts that reach the 16- and 8-wide bodies and every tail length; inputs from -100 (below the cut-off)
        // to +20, plus -inf (a masked score) and exact zero.
        for count in [1, 7, 8, 15, 16, 17, 33, 257] {
            var input = (0..<count).map { Float(-100 + 120 * Double($0) / Double(max(1, count - 1))) }
            input[0] = -.infinity
            if count > 2 { input[count / 2] = 3 }
            let shift: Float = 3
            var out = [Float](repeating: .nan, count: count)
            let sum = exponentials(out: &out, input: input, count: count, shift: shift, instructions: instructions)
            var expectedSum = 0.0
            for j in 0..<count {
                let exact = exp(Double(input[j] - shift))  // the kernel's argument is the fp32 difference
                expectedSum += exact
                let error = abs(Double(out[j]) - exact)
                // 2 ulp relative, or (below the cut-off, where vector paths flush to 0) 1e-37 absolute.
                #expect(error <= max(exact * 2.5e-7, 1e-37), "\(instructions) exp(\(input[j]) - 3) = \(out[j])")
            }
            #expect(abs(Double(sum) - expectedSum) <= expectedSum * 1e-6, "\(instructions) count \(count)")
            #expect(out[0] == 0)
        }
    }

    @Test(arguments: VectorInstructions.available)
    func worksInPlace(instructions: VectorInstructions) {
        var row: [Float] = [0.5, -1, 2, 0, -3, 1, 1.5, -0.25, 4]
        let expected = row.map { exp($0 - 4) }
        row.withUnsafeMutableBufferPointer { buffer in
            _ = exponentials(out: buffer.baseAddress!, input: buffer.baseAddress!, count: buffer.count, shift: 4,
                         instructions: instructions)
        }
        for (value, reference) in zip(row, expected) { #expect(abs(value - reference) <= reference * 3e-7) }
    }

    /// The AdamW kernel against the update written out in Double, for a count with a tail on every width, with
    /// the gradients as they are and scaled by a clipping factor.
    @Test(arguments: VectorInstructions.available, [Float(1), 0.37])
    func adamWMatchesTheFormula(instructions: VectorInstructions, gradientScale: Float) {
        let count = 37
        var p = randomTensor([count], seed: 1, requiresGrad: false).values
        let g = randomTensor([count], seed: 2, requiresGrad: false).values, scale = Double(gradientScale)
        var m = randomTensor([count], seed: 3, std: 0.1, requiresGrad: false).values
        var v = randomTensor([count], seed: 4, std: 0.1, requiresGrad: false).values.map { $0 * $0 }
        let (beta1, beta2, stepSize, root, epsilon, decay) = (0.9, 0.99, 0.01, 0.3, 1e-8, 0.999)
        let expected = (0..<count).map { i -> (Double, Double, Double) in
            let gradient = Double(g[i]) * scale
            let first = beta1 * Double(m[i]) + (1 - beta1) * gradient
            let second = beta2 * Double(v[i]) + (1 - beta2) * gradient * gradient
            let parameter = Double(p[i]) * decay - stepSize * first / (second.squareRoot() / root + epsilon)
            return (parameter, first, second)
        }
        adamWUpdate(parameter: &p, gradient: g, firstMoment: &m, secondMoment: &v, count: count,
                    gradientScale: gradientScale, beta1: 0.9, beta2: 0.99, stepSize: 0.01, rootCorrection2: 0.3,
                    epsilon: 1e-8, decay: 0.999,
                    instructions: instructions)
        for i in 0..<count {
            #expect(abs(Double(p[i]) - expected[i].0) <= 1e-5 * max(1, abs(expected[i].0)), "\(instructions) p[\(i)]")
            #expect(abs(Double(m[i]) - expected[i].1) <= 1e-6, "\(instructions) m[\(i)]")
            #expect(abs(Double(v[i]) - expected[i].2) <= 1e-6, "\(instructions) v[\(i)]")
        }
    }
}
