import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// The modern options through the one model definition: cached decoding equals the uncached forward, attention maps
/// and the bfloat16 decode follow, the configuration round-trips and counts its parameters, and formats of the 2019
/// GPT refuse what they cannot hold. (Parity with PyTorch: ``ParityTests/modernLayoutMatchesPyTorch()``.)
@Suite struct ModernModelTests {
    /// A tiny configuration with every option on (or those named off).
    static func modern(rope: Bool = true, rms: Bool = true, qkNorm: Bool = true, keyValueHeads: Int = 2,
                       softcap: Float? = 3, embeddingNorm: Bool = true, affine: Bool = true) -> ModelConfiguration {
        var c = ModelConfiguration(modelType: .gpt, vocabSize: 11, blockSize: 9)
        (c.layerCount, c.headCount, c.embeddingSize, c.bias, c.lmHeadBias) = (2, 4, 16, false, false)
        c.activation = .relu2
        c.positionEncoding = rope ? .rope : .learned
        c.norm = rms ? .rmsNorm : .layerNorm
        (c.qkNorm, c.keyValueHeadCount, c.logitSoftcap, c.embeddingNorm, c.normAffine) = (qkNorm, keyValueHeads, softcap, embeddingNorm, affine)
        return c
    }

    static let variants: [ModelConfiguration] = [
        modern(), modern(rope: false), modern(rms: false, affine: false), modern(qkNorm: false, keyValueHeads: 1),
        modern(keyValueHeads: 4, softcap: nil, embeddingNorm: false),
    ]

    @Test(arguments: variants.indices)
    func cachedDecodingEqualsTheUncachedForward(variant: Int) throws {
        let configuration = Self.variants[variant]
        try configuration.validate()
        var generator = SeededGenerator(seed: UInt64(40 + variant))
        let model = GPTLanguageModel(configuration, generator: &generator)
        for (_, parameter) in model.namedParameters() {  // larger than the 0.02 init, so every option matters
            generator.fillNormal(parameter.storage.buffer, mean: 0, std: 0.3)
        }
        let tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5]
        let cache = KVCache(configuration), half = KVCache(configuration)
        let weights = RoundedWeights(model.matrices)
        var cached = model.prefill([tokens[0]], cache: cache)
        _ = model.prefill([tokens[0]], cache: half)
        for t in 1..<tokens.count {
            let full = withoutGradient { model.forward(Array(tokens[0..<t])).logits.values }
            let uncached = Array(full.suffix(configuration.vocabSize))
            #expect(compare(cached, uncached, absolute: 1e-5, relative: 1e-4).passed, "position \(t - 1)")
            cached = model.decode(tokens[t], cache: cache)
            let rounded = KernelSettings.with(precision: .bfloat16, weights: weights) {
                model.decode(tokens[t], cache: half)
            }
            #expect(compare(rounded, cached, absolute: 0.05, relative: 0.05).passed, "bf16 at position \(t)")
        }
        #expect(cache.width == configuration.packedQKV.keyValueWidth, "the cache holds the key/value heads only")
        let (maps, probabilities) = model.attentionMaps(Array(tokens[0..<5]))
        #expect(maps.count == 2 && maps[0].count == 4)
        for row in 0..<5 { #expect(abs(maps[1][3][(row * 5)..<(row * 5 + 5)].reduce(0, +) - 1) < 1e-5) }
        #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
    }

    @Test(arguments: variants.indices)
    func parameterCountMatchesTheBuiltModel(variant: Int) throws {
        var generator = SeededGenerator(seed: 1)
        let model = GPTLanguageModel(Self.variants[variant], generator: &generator)
        #expect(try Self.variants[variant].parameterCount() == model.parameterCount)
    }

    @Test func configurationRoundTripsAndKeepsOldFilesOld() throws {
        let configuration = Self.modern()
        let data = try JSONEncoder().encode(configuration)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(object["format_version"] as? Int == 3 && object["position_encoding"] as? String == "rope")
        #expect(object["n_kv_head"] as? Int == 2 && object["norm"] as? String == "rmsnorm" && object["qk_norm"] as? Bool == true)
        #expect(try JSONDecoder().decode(ModelConfiguration.self, from: data) == configuration)
        let classic = try JSONSerialization.jsonObject(with: JSONEncoder().encode(AttentionTests.tinyConfiguration())) as! [String: Any]
        #expect(classic["format_version"] as? Int == 2 && classic["position_encoding"] == nil, "2019 layouts stay format 2")
    }

    @Test func invalidOptionsAreRefusedNamingTheField() {
        var gqa = Self.modern(keyValueHeads: 3)
        #expect(throws: GPTError.invalidConfiguration(field: "n_kv_head", reason: "(3) must divide n_head (4)")) { try gqa.validate() }
        gqa.keyValueHeadCount = 2
        gqa.logitSoftcap = -1
        #expect(throws: GPTError.self) { try gqa.validate() }
        var odd = Self.modern()
        (odd.headCount, odd.embeddingSize, odd.keyValueHeadCount) = (4, 12, 4)  // head size 3
        #expect(throws: GPTError.self) { try odd.validate() }
    }

    @Test func zeroInitialisedProjectionsStartAtZero() {
        var configuration = Self.modern()
        configuration.zeroInitProjections = true
        var generator = SeededGenerator(seed: 2)
        let model = GPTLanguageModel(configuration, generator: &generator)
        for block in model.blocks {
            #expect(block.attention.outputProjection.weight.values.allSatisfy { $0 == 0 })
            #expect(block.feedForward.project.weight.values.allSatisfy { $0 == 0 })
            #expect(block.feedForward.expand.weight.values.contains { $0 != 0 })
        }
    }

    @Test func formatsOfThe2019GPTRefuseModernModels() {
        var generator = SeededGenerator(seed: 3)
        let model = GPTLanguageModel(Self.modern(), generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(vocabulary: (0..<11).map { Unicode.Scalar(UInt8(97 + $0)) }))
        #expect(throws: GPTError.invalidConfiguration(field: "activation", reason: "must be gelu (and position_encoding=learned, "
            + "norm=layernorm, qk_norm=false, n_kv_head=4, embedding_norm=false, logit_softcap=none) for llama.cpp's gpt2; "
            + "train with --layout nanogpt")) {
            try LlamaCppGPT2.export(model, tokenizer: tokenizer)
        }
        #expect(throws: GPTError.self) { try HuggingFaceGPT2.export(model) }
        #expect(throws: GPTError.self) { try StateDictLayout.lecture.exportTensors(model) }
    }
}
