import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

/// This package's `config.json`: strict for every format version, with the defaults only nanoGPT's `GPTConfig`
/// (a file without `format_version`) leaves to its model.
@Suite struct StrictConfigurationTests {
    /// The configuration as this version writes it (format 2 for the 2019 layout, 3 for the modern one).
    static func written(modern: Bool = false) throws -> [String: Any] {
        var configuration = AttentionTests.tinyConfiguration()
        if modern { (configuration.positionEncoding, configuration.norm) = (.rope, .rmsNorm) }
        return try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as! [String: Any]
    }

    static func decode(_ object: [String: Any]) throws -> ModelConfiguration {
        try JSONDecoder().decode(ModelConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
    }

    /// The configuration loaded from a saved checkpoint whose config.json is `object`.
    static func load(_ object: [String: Any]) throws -> ModelConfiguration {
        var generator = SeededGenerator(seed: 1)
        let model = GPTLanguageModel(AttentionTests.tinyConfiguration(), generator: &generator)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strict-config-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Checkpoint(model: model, tokenizer: .character(CharacterTokenizer(training: "abcdefghijk"))).save(to: folder)
        try JSONSerialization.data(withJSONObject: object).write(to: folder.appendingPathComponent("config.json"))
        return try Checkpoint.load(from: folder).model.configuration
    }

    @Test(arguments: ["model_type", "vocab_size", "block_size", "n_layer", "n_head", "n_embd", "dropout", "bias",
                      "attention_bias", "lm_head_bias", "activation", "tie_weights"])
    func everyKeyOfAVersionedFileIsRequired(key: String) throws {
        // A format-2 file without `activation` loaded as GELU, without `tie_weights` as tied, and so on.
        for version in [1, 2, 3] {
            var object = try Self.written(modern: version == 3)
            object["format_version"] = version
            object[key] = nil
            HuggingFaceReaderTests.expectRefusal(naming: key) { _ = try Self.load(object) }
            object[key] = NSNull()
            #expect(throws: (any Error).self, "\(key): null in format \(version)") { try Self.decode(object) }
        }
    }

    @Test(arguments: ["position_encoding", "norm", "norm_affine", "norm_eps", "qk_norm", "n_kv_head", "embedding_norm",
                      "zero_init_projections", "rope_theta"])
    func everyKeyOfFormat3IsRequired(key: String) throws {
        var object = try Self.written(modern: true)
        #expect(object["format_version"] as? Int == 3 && object[key] != nil)
        object[key] = nil
        HuggingFaceReaderTests.expectRefusal(naming: key) { _ = try Self.load(object) }
    }

    @Test(arguments: [
        ("activation", "\"swish\""), ("activation", "1"), ("bias", "\"yes\""), ("bias", "1"), ("tie_weights", "\"no\""),
        ("dropout", "\"0\""), ("n_layer", "1.5"), ("n_head", "\"4\""), ("model_type", "\"llama\""), ("norm", "\"batchnorm\""),
        ("position_encoding", "\"alibi\""), ("format_version", "0"), ("format_version", "-3"), ("format_version", "\"2\""),
    ])
    func wrongTypesAndUnknownValuesAreRefusedNamingTheKey(key: String, json: String) throws {
        var object = try Self.written()
        object[key] = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        HuggingFaceReaderTests.expectRefusal(naming: key) { _ = try Self.load(object) }
    }

    @Test func nanoGPTsConfigKeepsItsDefaults() throws {
        // What the nanogpt export writes beside its state dict (GPTConfig(**json)): no format_version, seven keys.
        let object: [String: Any] = ["block_size": 8, "vocab_size": 11, "n_layer": 1, "n_head": 2, "n_embd": 8,
                                     "dropout": 0.0, "bias": false]
        let configuration = try Self.decode(object)
        #expect(configuration.activation == .gelu && configuration.tiedEmbeddings && !configuration.lmHeadBias)
        #expect(!configuration.bias && !configuration.attentionBias)
        for key in ["n_layer", "n_head", "n_embd", "vocab_size", "block_size"] {
            var missing = object
            missing[key] = nil
            #expect(throws: (any Error).self, "\(key)") { try Self.decode(missing) }
        }
    }

    @Test func everyFileThisVersionWritesReadsBack() throws {
        for modern in [false, true] {
            var configuration = AttentionTests.tinyConfiguration()
            if modern { (configuration.positionEncoding, configuration.norm, configuration.keyValueHeadCount) = (.rope, .rmsNorm, 2) }
            #expect(try Self.decode(Self.written(modern: modern)) == configuration)
        }
        #expect(try Self.load(Self.written()) == AttentionTests.tinyConfiguration())
    }
}
