import Foundation
import Testing
import TensorModule

/// The vectorized exponentials behind every softmax, against Double `exp`, on each instruction set this machine has.
@Suite struct ExponentialTests {
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
            exponentials(out: buffer.baseAddress!, input: buffer.baseAddress!, count: buffer.count, shift: 4,
                         instructions: instructions)
        }
        for (value, reference) in zip(row, expected) { #expect(abs(value - reference) <= reference * 3e-7) }
    }
}
