import TensorModule

/// The result of comparing two arrays: the largest absolute difference and where it is.
public struct Comparison: CustomStringConvertible, Sendable {
    public let maximumDifference: Float
    public let index: Int
    public let passed: Bool

    public var description: String {
        "max difference \(maximumDifference) at index \(index) (\(passed ? "ok" : "FAILED"))"
    }
}

/// Compares `actual` with `expected` elementwise: passes when every `|a - e| <= absolute + relative * |e|`.
public func compare(_ actual: [Float], _ expected: [Float], absolute: Float = 1e-5, relative: Float = 1e-4)
    -> Comparison
{
    guard actual.count == expected.count else {
        return Comparison(maximumDifference: .infinity, index: -1, passed: false)
    }
    var worst: Float = 0, worstIndex = 0, passed = true
    for i in 0..<actual.count {
        let difference = abs(actual[i] - expected[i])
        if !(difference <= absolute + relative * abs(expected[i])) { passed = false }
        if difference > worst || difference.isNaN {
            worst = difference
            worstIndex = i
        }
    }
    return Comparison(maximumDifference: worst, index: worstIndex, passed: passed)
}

/// Checks an op's backward against central finite differences (tinygrad's `helper_test_op`).
///
/// The op's output is reduced to a scalar with fixed random weights, `L = Σ w ⊙ f(inputs)`, so every output element
/// contributes a different amount. Each input element is nudged by `±epsilon` and `(L+ - L-) / 2ε` is compared with
/// the autodiff gradient. Returns one ``Comparison`` per input that requires a gradient.
public func checkGradients(
    _ inputs: [Tensor], epsilon: Float = 1e-2, absolute: Float = 2e-3, relative: Float = 2e-2,
    seed: UInt64 = 7, _ function: ([Tensor]) -> Tensor
) -> [Comparison] {
    var generator = SeededGenerator(seed: seed)
    let probe = withoutGradient { function(inputs) }
    let weights = Tensor.normal(probe.shape, generator: &generator)
    func loss() -> Double {
        let output = withoutGradient { function(inputs) }
        var total = 0.0
        for (o, w) in zip(output.values, weights.values) { total += Double(o) * Double(w) }
        return total
    }
    for input in inputs { input.clearGradient() }
    (function(inputs) * weights).sum().backward()
    var results: [Comparison] = []
    for input in inputs where input.requiresGrad {
        let analytic = input.gradient ?? Array(repeating: 0, count: input.count)
        var numeric = [Float](repeating: 0, count: input.count)
        let p = input.storage.pointer
        for i in 0..<input.count {
            let original = p[i]
            p[i] = original + epsilon
            let plus = loss()
            p[i] = original - epsilon
            let minus = loss()
            p[i] = original
            numeric[i] = Float((plus - minus) / (2 * Double(epsilon)))
        }
        results.append(compare(analytic, numeric, absolute: absolute, relative: relative))
    }
    return results
}

/// A tensor of normal samples that requires a gradient, for gradient checks.
public func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1, requiresGrad: Bool = true) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor.normal(shape, std: std, generator: &generator, requiresGrad: requiresGrad)
}
