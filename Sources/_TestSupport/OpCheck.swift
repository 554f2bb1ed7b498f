import TensorModule

/// What ``checkOp(_:inputs:reference:forwardTolerance:epsilon:gradientTolerance:op:)`` found: the forward against
/// the reference and the backward of each input against finite differences.
public struct OpCheck: CustomStringConvertible, Sendable {
    public let name: String
    /// The op's output against the reference's (`passed == false` with index -1 when the counts differ).
    public let forward: Comparison
    /// One per input that requires a gradient, in input order.
    public let gradients: [Comparison]

    /// True when the forward matches and every gradient matches (and at least one input has a gradient).
    public var passed: Bool { forward.passed && !gradients.isEmpty && gradients.allSatisfy(\.passed) }

    /// The failures, each naming its max difference and where: `"gelu forward: max difference 0.1 at index 3"`.
    public var description: String {
        var lines: [String] = []
        if !forward.passed { lines.append("\(name) forward: \(forward)") }
        if gradients.isEmpty { lines.append("\(name): no input requires a gradient") }
        for (i, gradient) in gradients.enumerated() where !gradient.passed {
            lines.append("\(name) gradient of input \(i): \(gradient)")
        }
        return lines.isEmpty ? "\(name): ok (forward \(forward.maximumDifference))" : lines.joined(separator: "; ")
    }
}

/// Checks one op the way tinygrad's `helper_test_op` does: its forward against a reference written out in `Double`
/// (a naive loop, or a formula), and its backward against central finite differences (``checkGradients``).
///
/// `reference` receives each input's values as `Double`s (flattened, row-major) and returns the expected output,
/// flattened. The forward passes when every `|actual - expected| <= absolute + relative * |expected|`.
///
/// ```swift
/// let x = randomTensor([2, 5], seed: 1)
/// let check = checkOp("relu", inputs: [x], reference: { $0[0].map { max(0, $0) } }) { $0[0].relu() }
/// #expect(check.passed, "\(check)")
/// ```
public func checkOp(
    _ name: String, inputs: [Tensor], reference: ([[Double]]) -> [Double],
    forwardTolerance: (absolute: Float, relative: Float) = (1e-5, 1e-4),
    epsilon: Float = 1e-2, gradientTolerance: (absolute: Float, relative: Float) = (2e-3, 2e-2),
    seed: UInt64 = 7, op: ([Tensor]) -> Tensor
) -> OpCheck {
    let actual = withoutGradient { op(inputs) }.values
    let expected = reference(inputs.map { $0.values.map(Double.init) }).map(Float.init)
    let forward = compare(actual, expected, absolute: forwardTolerance.absolute, relative: forwardTolerance.relative)
    let gradients = checkGradients(
        inputs, epsilon: epsilon, absolute: gradientTolerance.absolute, relative: gradientTolerance.relative,
        seed: seed, op)
    return OpCheck(name: name, forward: forward, gradients: gradients)
}
