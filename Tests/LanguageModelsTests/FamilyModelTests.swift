import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

/// The options of the Llama, Qwen and nanochat families through the one model: cached decoding equals the uncached
/// forward (and the bfloat16 decode follows) for each, the configuration round-trips as format 4 and counts its
/// parameters, bad values are refused naming the field. (Against transformers: ``HuggingFaceFamilyTests``.)
@Suite struct FamilyModelTests {
    /// Llama's shape: rotary, RMSNorm with gains, SwiGLU of its own width, grouped-query attention, no biases.
    static func llama(gated: Bool = true, inner: Int? = 24, headDim: Int? = nil, gains: Bool = false,
                      scaling: RopeScaling? = nil, attentionBias: Bool = false) -> ModelConfiguration {
        var c = ModernModelTests.modern(qkNorm: gains, softcap: nil, embeddingNorm: false)
        (c.activation, c.gatedFeedForward, c.feedForwardSize, c.headDimension) = (.silu, gated, inner, headDim)
        (c.qkNormAffine, c.ropeScaling, c.attentionBias, c.tiedEmbeddings) = (gains, scaling, attentionBias, false)
        return c
    }

    static let llama3 = RopeScaling(kind: .llama3, factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContext: 4)

    static let variants: [ModelConfiguration] = [
        llama(), llama(scaling: llama3), llama(scaling: RopeScaling(kind: .linear, factor: 2)),
        llama(attentionBias: true),  // Qwen2
        llama(headDim: 6, gains: true),  // Qwen3
        llama(gated: false, inner: 20),  // an ungated SiLU of its own width
        { var c = llama(); c.activation = .gelu; return c }(),  // GeGLU: another activation gating the up projection
    ]

    @Test(arguments: variants.indices)
    func cachedDecodingEqualsTheUncachedForward(variant: Int) throws {
        let configuration = Self.variants[variant]
        try configuration.validate()
        var generator = SeededGenerator(seed: UInt64(70 + variant))
        let model = GPTLanguageModel(configuration, generator: &generator)
        for (_, parameter) in model.namedParameters() { generator.fillNormal(parameter.storage.buffer, mean: 0, std: 0.3) }
        #expect(try configuration.parameterCount() == model.parameterCount)
        let tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5]
        let cache = KVCache(configuration), half = KVCache(configuration)
        let weights = RoundedWeights(model.matrices)
        var cached = model.prefill([tokens[0]], cache: cache)
        _ = model.prefill([tokens[0]], cache: half)
        for t in 1..<tokens.count {
            let full = withoutGradient { model.forward(Array(tokens[0..<t])).logits.values }
            #expect(compare(cached, Array(full.suffix(configuration.vocabSize)), absolute: 1e-5, relative: 1e-4).passed, "position \(t - 1)")
            cached = model.decode(tokens[t], cache: cache)
            let rounded = KernelSettings.with(precision: .bfloat16, weights: weights) { model.decode(tokens[t], cache: half) }
            #expect(compare(rounded, cached, absolute: 0.05, relative: 0.05).passed, "bf16 at position \(t)")
        }
    }

    @Test func trainingStepsLowerTheLossInBothPrecisions() throws {
        for precision in [MatrixPrecision.float32, .bfloat16] {
            var generator = SeededGenerator(seed: 5)
            let model = GPTLanguageModel(Self.llama(headDim: 6, gains: true), generator: &generator)
            let optimizer = AdamW(parameters: model.parameters, settings: .init(learningRate: 1e-2))
            let tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
            var losses: [Float] = []
            for _ in 0..<5 {
                let loss = KernelSettings.with(precision: precision, weights: nil) {
                    model.forward(Array(tokens.dropLast()), batchSize: 1, targets: Array(tokens.dropFirst()), training: true).loss!
                }
                losses.append(loss.item)
                model.clearGradients()
                KernelSettings.with(precision: precision, weights: nil) { loss.backward() }
                optimizer.update()
            }
            #expect(losses.last! < losses.first!, "\(precision): \(losses)")
        }
    }

    @Test func formatsOfThe2019GPTRefuseTheFamiliesNamingTheField() {
        var generator = SeededGenerator(seed: 2)
        let model = GPTLanguageModel(Self.llama(headDim: 6, gains: true), generator: &generator)
        // hf and gguf write the families (HuggingFaceFamilyExportTests, GGUFRoundTripTests)
        for format in ModelFormats.all where !["hf", "gguf"].contains(format.name) {
            #expect(throws: GPTError.self, "\(format.name)") { _ = try format.check(model) }
        }
    }

    @Test func namesAndShapesOfTheNewParameters() {
        var generator = SeededGenerator(seed: 1)
        let model = GPTLanguageModel(Self.llama(headDim: 6, gains: true), generator: &generator)
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor.shape) })
        #expect(shapes["transformer.h.0.attn.c_attn.weight"] == [(4 + 2 * 2) * 6, 16])
        #expect(shapes["transformer.h.0.attn.c_proj.weight"] == [16, 24])
        #expect(shapes["transformer.h.0.attn.q_norm.weight"] == [6] && shapes["transformer.h.0.attn.k_norm.weight"] == [6])
        #expect(shapes["transformer.h.0.mlp.c_fc.weight"] == [24, 16] && shapes["transformer.h.0.mlp.c_up.weight"] == [24, 16])
        #expect(shapes["transformer.h.0.mlp.c_proj.weight"] == [16, 24])
    }

    @Test func configurationRoundTripsAsFormat4() throws {
        for configuration in Self.variants {
            let data = try JSONEncoder().encode(configuration)
            let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            #expect(object["format_version"] as? Int == 4 && object["n_inner"] != nil && object["head_dim"] as? Int == configuration.headSize)
            #expect(try JSONDecoder().decode(ModelConfiguration.self, from: data) == normalized(configuration))
        }
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Self.llama(scaling: Self.llama3))) as! [String: Any]
        let scaling = object["rope_scaling"] as? [String: Any]
        #expect(scaling?["rope_type"] as? String == "llama3" && scaling?["original_max_position_embeddings"] as? Int == 4)
        #expect(object["activation"] as? String == "silu" && object["gated_mlp"] as? Bool == true)
    }

    @Test(arguments: ["gated_mlp", "n_inner", "qk_norm_affine", "head_dim"])
    func everyKeyOfFormat4IsRequired(key: String) throws {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Self.llama())) as! [String: Any]
        #expect(object["format_version"] as? Int == 4 && object[key] != nil)
        object[key] = nil
        HuggingFaceReaderTests.expectRefusal(naming: key) { _ = try StrictConfigurationTests.load(object) }
    }

    /// `configuration` as read back: format 4 writes the head size and feed-forward width resolved.
    func normalized(_ configuration: ModelConfiguration) -> ModelConfiguration {
        var c = configuration
        (c.headDimension, c.feedForwardSize) = (c.headSize, c.feedForwardWidth)
        return c
    }

    @Test(arguments: [("gated_mlp", "1"), ("n_inner", "\"24\""), ("head_dim", "1.5"), ("qk_norm_affine", "\"no\""),
                      ("rope_scaling", "{\"rope_type\":\"yarn\",\"factor\":2}"), ("rope_scaling", "{\"rope_type\":\"linear\"}"),
                      ("activation", "\"swiglu\""), ("n_inner", "null"), ("head_dim", "null")])
    func wrongTypesAreRefusedNamingTheKey(key: String, json: String) throws {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Self.llama())) as! [String: Any]
        object[key] = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        HuggingFaceReaderTests.expectRefusal(naming: key) { _ = try StrictConfigurationTests.load(object) }
    }

    @Test func invalidValuesAreRefusedNamingTheField() {
        func field(_ change: (inout ModelConfiguration) -> Void) -> String? {
            var c = Self.llama()
            change(&c)
            do { try c.validate() } catch GPTError.invalidConfiguration(let field, _) { return field } catch { return "\(error)" }
            return nil
        }
        #expect(field { $0.feedForwardSize = 0 } == "n_inner")
        #expect(field { $0.headDimension = 5 } == "head_dim")  // odd, with rotary positions
        #expect(field { $0.headDimension = 0 } == "head_dim")
        #expect(field { ($0.qkNorm, $0.qkNormAffine) = (false, true) } == "qk_norm_affine")
        #expect(field { $0.ropeScaling = RopeScaling(kind: .linear, factor: 0.5) } == "rope_scaling.factor")
        #expect(field { $0.ropeScaling = RopeScaling(kind: .llama3, factor: 8) } == "rope_scaling.low_freq_factor")
        #expect(field { ($0.positionEncoding, $0.ropeScaling) = (.learned, RopeScaling(kind: .linear, factor: 2)) } == "rope_scaling")
        #expect(field { ($0.embeddingSize, $0.headDimension) = (18, 6) } == nil, "a head size of its own need not divide n_embd")
    }

    @Test func llama3ScalingFollowsTransformers() {
        // transformers' _compute_llama3_parameters for head_dim 16, θ 10000, factor 8, low 1, high 4, original 4
        // keeps the pairs of wavelength under 1 position, divides those over 4 by 8 and blends between.
        var c = Self.llama(scaling: Self.llama3)
        c.headDimension = 16
        let plain = (0..<8).map { 1 / pow(Float(10_000), Float(2 * $0) / 16) }
        let scaled = c.rotaryFrequencies
        for (i, frequency) in plain.enumerated() {
            let wavelength = 2 * Float.pi / frequency
            let expected: Float = wavelength < 1 ? frequency : wavelength > 4 ? frequency / 8
                : { let s = (4 / wavelength - 1) / 3; return (1 - s) * frequency / 8 + s * frequency }()
            #expect(abs(scaled[i] - expected) <= 1e-6 * expected, "pair \(i)")
        }
    }
}
