import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// Folders of the Llama, Qwen and nanochat families that cannot be imported are refused with an error naming what
/// and why: another `model_type`, quantised or multimodal models, a RoPE scaling or activation this package does not
/// compute, a wrong-typed or missing key, a missing, misshapen or extra tensor.
@Suite struct HuggingFaceFamilyRefusalTests {
    /// A copy of fixture `name` with its `config.json` changed by `change`; removed by the caller.
    static func copy(_ name: String, config change: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let folder = temporaryDirectory("family-refusal")
        try FileManager.default.copyItem(at: HuggingFaceFamilyTests.fixtures.appendingPathComponent(name), to: folder)
        let url = folder.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        change(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        return folder
    }

    static func expectRefusal(_ name: String, naming field: String, config change: (inout [String: Any]) -> Void,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let folder = try copy(name, config: change)
        defer { try? FileManager.default.removeItem(at: folder) }
        HuggingFaceReaderTests.expectRefusal(naming: field, {
            _ = try ModelFormats.detect(folder).read(folder, tokenizer: nil, configuration: nil)
        }, sourceLocation: sourceLocation)
    }

    @Test func anotherModelTypeIsRefusedNamingTheOnesImported() throws {
        try Self.expectRefusal("llama", naming: "\"phi3\", not one this tool imports (gpt2, llama, mistral, qwen2, qwen3, nanochat)") {
            $0["model_type"] = "phi3"
        }
    }

    @Test func quantisedAndMultimodalModelsAreRefused() throws {
        try Self.expectRefusal("qwen2", naming: "quantised (awq)") { $0["quantization_config"] = ["quant_method": "awq", "bits": 4] }
        try Self.expectRefusal("llama", naming: "vision_config") { $0["vision_config"] = ["hidden_size": 8] }
    }

    @Test(arguments: [
        ("num_attention_heads", "\"4\""), ("hidden_size", "32.5"), ("vocab_size", "null"), ("tie_word_embeddings", "1"),
        ("rms_norm_eps", "\"1e-5\""), ("num_key_value_heads", "[2]"), ("max_position_embeddings", "0"),
        ("hidden_act", "\"gelu\""), ("mlp_bias", "true"), ("rope_parameters", "{\"rope_type\":\"yarn\",\"rope_theta\":10000,\"factor\":4}"),
        ("rope_parameters", "{\"rope_type\":\"llama3\",\"rope_theta\":10000,\"factor\":8}"),
        ("rope_parameters", "{\"rope_type\":\"default\"}"), ("partial_rotary_factor", "0.5"), ("head_dim", "\"8\""),
    ])
    func wrongKeysAreRefusedNamingThem(key: String, json: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        // The key named, or for a missing member of rope_parameters, that member.
        let named = json.contains("\"llama3\"") ? "low_freq_factor" : json.contains("\"default\"}") ? "rope_theta" : key
        try Self.expectRefusal("llama", naming: named) { $0[key] = value }
    }

    @Test func olderRopeKeysAreReadAndTheirMistakesNamed() throws {
        try Self.expectRefusal("qwen3", naming: "rope_scaling") { $0["rope_scaling"] = ["type": "dynamic", "factor": 2.0] }
        try Self.expectRefusal("mistral", naming: "rope_theta") { $0["rope_theta"] = nil }
        try Self.expectRefusal("mistral", naming: "sliding_window") { $0["sliding_window"] = -1 }
        try Self.expectRefusal("nanochat", naming: "hidden_act") { $0["hidden_act"] = "silu" }
        try Self.expectRefusal("qwen3", naming: "attention_bias") { $0["attention_bias"] = true }
    }

    @Test func tensorsThatDoNotFitTheConfigurationAreRefusedNamingThem() throws {
        // A smaller feed-forward in config.json than in the weights: the first tensor of that shape is named.
        try Self.expectRefusal("llama", naming: "model.layers.0.mlp.gate_proj.weight has shape [48, 32], but config.json describes [40, 32]") {
            $0["intermediate_size"] = 40
        }
        // Untied in config.json but saved tied: the head is missing.
        try Self.expectRefusal("qwen2", naming: "tensor lm_head.weight is missing") { $0["tie_word_embeddings"] = false }
        // One layer fewer: the second layer's tensors belong to nothing.
        try Self.expectRefusal("qwen3", naming: "model.layers.1.") { $0["num_hidden_layers"] = 1 }
    }

    @Test func aMissingTensorIsNamed() throws {
        let folder = try Self.copy("llama")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        let tensors = try SafeTensors.read(url).tensors.filter { $0.key != "model.layers.1.self_attn.k_proj.weight" }
        try SafeTensors.write(tensors.map { (name: $0.key, tensor: Tensor(shape: $0.value.shape, values: $0.value.values)) }, to: url)
        HuggingFaceReaderTests.expectRefusal(naming: "tensor model.layers.1.self_attn.k_proj.weight is missing") {
            _ = try ModelFormats.detect(folder).read(folder, tokenizer: nil, configuration: nil)
        }
    }
}
