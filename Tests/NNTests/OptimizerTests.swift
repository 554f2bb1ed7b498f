import Foundation
import NN
import TensorModule
import Testing
import _TestSupport

@Suite struct OptimizerTests {
    @Test func adamWMatchesTheFormulaStepByStep() {
        // One parameter, three steps, against PyTorch's update written out in Double.
        let p = Tensor(shape: [2, 1], values: [0.5, -1.5], requiresGrad: true)
        let settings = AdamW.Settings(learningRate: 0.1, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        let optimizer = AdamW(parameters: [p], settings: settings)
        var value = [0.5, -1.5], m = [0.0, 0.0], v = [0.0, 0.0]
        let gradients: [[Double]] = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.05]]
        for (t, g) in gradients.enumerated() {
            p.clearGradient()
            (p * Tensor(shape: [2, 1], values: g.map(Float.init))).sum().backward()
            optimizer.update()
            for i in 0..<2 {
                value[i] *= 1 - 0.1 * 0.1
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i]
                let mHat = m[i] / (1 - pow(0.9, Double(t + 1))), vHat = v[i] / (1 - pow(0.99, Double(t + 1)))
                value[i] -= 0.1 * mHat / (vHat.squareRoot() + 1e-8)
            }
            #expect(compare(p.values, value.map(Float.init), absolute: 1e-6).passed, "step \(t + 1)")
        }
    }

    @Test func weightDecaySkipsVectorsWhenAskedLikeNanoGPT() {
        let matrix = Tensor(shape: [1, 1], values: [1], requiresGrad: true), vector = Tensor(shape: [1], values: [1], requiresGrad: true)
        let optimizer = AdamW(parameters: [matrix, vector], settings: .init(learningRate: 0.1, weightDecay: 0.5), decayAll: false)
        for p in [matrix, vector] { (p * Tensor.zeros(p.shape)).sum().backward() }  // zero gradients: only decay moves
        optimizer.update()
        #expect(abs(matrix.item - 0.95) < 1e-6)
        #expect(vector.item == 1)
    }

    @Test func clippingScalesTheGlobalNorm() {
        let a = Tensor(shape: [2], values: [0, 0], requiresGrad: true), b = Tensor(shape: [1], values: [0], requiresGrad: true)
        (a * Tensor(shape: [2], values: [3, 0]) + Tensor.zeros([2])).sum().backward()
        (b * Tensor(shape: [1], values: [4])).sum().backward()
        let norm = clipGradientNorm([a, b], maximumNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        #expect(compare(a.gradient! + b.gradient!, [0.6, 0, 0.8], absolute: 1e-5).passed)
    }

    @Test func learningRateWarmsUpThenDecaysAlongACosine() {
        #expect(learningRate(step: 0, maximum: 1, minimum: 0.1, warmupSteps: 10, decaySteps: 110) == 0.1)
        #expect(learningRate(step: 9, maximum: 1, minimum: 0.1, warmupSteps: 10, decaySteps: 110) == 1)
        #expect(abs(learningRate(step: 60, maximum: 1, minimum: 0.1, warmupSteps: 10, decaySteps: 110) - 0.55) < 1e-6)
        #expect(learningRate(step: 500, maximum: 1, minimum: 0.1, warmupSteps: 10, decaySteps: 110) == 0.1)
        #expect(learningRate(step: 500, maximum: 1, minimum: 0.1, warmupSteps: 10, decaySteps: 0) == 1)
    }

    @Test func layersHaveTorchShapesAndNames() {
        var generator = SeededGenerator(seed: 1)
        let linear = Linear(inputSize: 3, outputSize: 5, generator: &generator)
        #expect(linear.namedParameters().map(\.name) == ["weight", "bias"])
        #expect(linear.weight.shape == [5, 3])
        // PyTorch's default initialisation bound, 1/sqrt(in).
        #expect(linear.weight.values.allSatisfy { abs($0) <= 1 / Float(3).squareRoot() })
        let norm = LayerNorm(dimension: 4, bias: false)
        #expect(norm.namedParameters().map(\.name) == ["weight"])
        #expect(norm(Tensor(shape: [1, 4], values: [1, 2, 3, 4])).values.reduce(0, +) < 1e-5)
    }
}
