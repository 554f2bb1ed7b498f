import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

@Suite struct AttentionTests {
    static func tinyConfiguration(dropout: Float = 0, bias: Bool = false) -> ModelConfiguration {
        var configuration = tinyGPTConfiguration()
        configuration.dropout = dropout
        configuration.attentionBias = bias
        return configuration
    }

    @Test func mathematicalTrickVersionsAgree() {
        let x = randomTensor([2, 5, 3], seed: 3, requiresGrad: false)
        let loop = CausalAverage.loop.apply(x).values
        for method in [CausalAverage.triangularMatmul, .maskedSoftmax] {
            #expect(compare(method.apply(x).values, loop, absolute: 1e-6).passed, "\(method)")
        }
        // The first position is itself; the last is the mean of the whole row.
        #expect(abs(loop[0] - x.values[0]) < 1e-7)
    }

    @Test(arguments: [false, true])
    func fusedAttentionEqualsHeadByHeadReference(bias: Bool) {
        var generator = SeededGenerator(seed: 5)
        let attention = CausalSelfAttention(Self.tinyConfiguration(bias: bias), generator: &generator)
        if let b = attention.packedProjection.bias { generator.fillNormal(b.storage.buffer, mean: 0, std: 0.5) }
        let reference = attention.referenceHeads()
        let x = randomTensor([2, 7, 8], seed: 6)
        var context = ForwardContext()
        let fused = attention(x, context: &context)
        let expected = reference(x, generator: &generator)
        #expect(compare(fused.values, expected.values, absolute: 1e-5).passed)

        // Gradients: the same upstream gradient through both, compared on the input and on every weight.
        let weights = randomTensor(fused.shape, seed: 8, requiresGrad: false)
        (fused * weights).sum().backward()
        let fusedInputGradient = x.gradient!
        x.clearGradient()
        (expected * weights).sum().backward()
        #expect(compare(fusedInputGradient, x.gradient!, absolute: 1e-5).passed, "input gradient")
        let c = 8, d = 4
        let packed = attention.packedProjection.weight.gradient!
        for (h, head) in reference.heads.enumerated() {
            for (part, linear) in [head.query, head.key, head.value].enumerated() {
                let rows = (part * c + h * d)..<(part * c + h * d + d)
                let slice = Array(packed[(rows.lowerBound * c)..<(rows.upperBound * c)])
                #expect(compare(slice, linear.weight.gradient!, absolute: 1e-5).passed, "head \(h) part \(part)")
            }
        }
        #expect(compare(attention.outputProjection.weight.gradient!, reference.projection.weight.gradient!,
                        absolute: 1e-5).passed)
    }

    @Test func fusedAttentionGradientMatchesFiniteDifferences() {
        let qkv = randomTensor([2, 5, 12], seed: 9)
        let results = checkGradients([qkv]) { inputs in
            var generator = SeededGenerator(seed: 1)
            return inputs[0].causalSelfAttention(heads: 2, generator: &generator)
        }
        #expect(results.allSatisfy { $0.passed }, "\(results)")
    }

    @Test func fusedAttentionWithDropoutMatchesFiniteDifferences() {
        let qkv = randomTensor([1, 6, 12], seed: 10)
        let results = checkGradients([qkv]) { inputs in
            var generator = SeededGenerator(seed: 2)  // the same masks on every evaluation
            return inputs[0].causalSelfAttention(heads: 2, dropout: 0.3, generator: &generator)
        }
        #expect(results.allSatisfy { $0.passed }, "\(results)")
    }

    @Test func attentionIsCausal() {
        // Changing a later token must not change earlier outputs.
        let qkv = randomTensor([1, 6, 12], seed: 11, requiresGrad: false)
        var generator = SeededGenerator(seed: 1)
        let before = qkv.causalSelfAttention(heads: 2, generator: &generator).values
        qkv.storage.pointer[5 * 12 + 3] += 10
        let after = qkv.causalSelfAttention(heads: 2, generator: &generator).values
        #expect(Array(before[0..<(5 * 4)]) == Array(after[0..<(5 * 4)]))
        #expect(Array(before[(5 * 4)...]) != Array(after[(5 * 4)...]))
    }

    @Test func gptGradientsMatchFiniteDifferences() {
        var generator = SeededGenerator(seed: 12)
        var configuration = Self.tinyConfiguration()
        configuration.activation = .gelu
        let model = GPTLanguageModel(configuration, generator: &generator)
        let idx = [1, 4, 2, 9, 0, 3], targets = [4, 2, 9, 0, 3, 7]
        // Check a few representative parameters through the whole model.
        let names = ["transformer.wte.weight", "transformer.h.1.attn.c_attn.weight", "transformer.h.0.mlp.c_fc.bias",
                     "transformer.ln_f.weight", "lm_head.bias"]
        let parameters = model.namedParameters().filter { names.contains($0.name) }.map(\.tensor)
        #expect(parameters.count == names.count)
        let results = checkGradients(parameters, epsilon: 1e-2, absolute: 5e-3, relative: 5e-2) { _ in
            model.forward(idx, batchSize: 2, targets: targets).loss!
        }
        #expect(results.count == names.count)
        for (name, result) in zip(names, results) { #expect(result.passed, "\(name): \(result)") }
    }
}
