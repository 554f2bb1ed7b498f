import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// `gpt export --format hf` of the families: an imported transformers folder goes back out as its family with the same
/// tensors bit for bit and a `config.json` transformers reads the same; a model of the 2026 layout made here goes out
/// as nanochat and reads back with the same logits; a model no family holds is refused naming the fields.
@Suite struct HuggingFaceFamilyExportTests {
    static let families = ["llama", "mistral", "qwen2", "qwen3", "nanochat"]

    static func exported(_ checkpoint: Checkpoint, _ name: String) throws -> URL {
        let out = temporaryDirectory("hf-export-\(name)")
        _ = try ModelFormats.named("hf").write(checkpoint, to: out, options: ExportOptions())
        return out
    }

    static func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// What transformers' config class makes of `config`: the keys that decide the computation, defaults filled in,
    /// numbers as numbers (10000 and 10000.0 alike), the rotary parameters from either form.
    static func meaning(_ config: [String: Any]) -> [String: String] {
        let rope = config["rope_parameters"] as? [String: Any] ?? config["rope_scaling"] as? [String: Any] ?? [:]
        var keys: [String: Any] = [
            "rope_theta": rope["rope_theta"] ?? config["rope_theta"]!,
            "rope_type": rope["rope_type"] ?? rope["type"] ?? "default",
            "head_dim": config["head_dim"] ?? (config["hidden_size"] as! Int) / (config["num_attention_heads"] as! Int),
            "num_key_value_heads": config["num_key_value_heads"] ?? config["num_attention_heads"]!,
            "attention_bias": config["attention_bias"] ?? false, "mlp_bias": config["mlp_bias"] ?? false,
            "use_sliding_window": config["use_sliding_window"] ?? false,
        ]
        for key in ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"] {
            keys[key] = rope[key] ?? "none"
        }
        for key in ["model_type", "architectures", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                    "num_attention_heads", "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings", "hidden_act",
                    "final_logit_softcapping", "sliding_window"] {
            keys[key] = config[key] ?? "none"
        }
        return keys.mapValues { value in
            let text = "\(value)"
            return Double(text).map { "\($0)" } ?? text
        }
    }

    @Test(arguments: families)
    func importedFolderExportsBackAsItsFamily(name: String) throws {
        let folder = HuggingFaceFamilyTests.fixtures.appendingPathComponent(name)
        let out = try Self.exported(try HuggingFaceFamilyTests.imported(name), name)
        defer { try? FileManager.default.removeItem(at: out) }
        var stored = try SafeTensors.read(folder.appendingPathComponent("model.safetensors")).tensors
        if try Self.json(folder.appendingPathComponent("config.json"))["tie_word_embeddings"] as? Bool == true {
            stored["lm_head.weight"] = nil
        }
        let written = try SafeTensors.read(out.appendingPathComponent("model.safetensors")).tensors
        #expect(Set(written.keys) == Set(stored.keys), "\(name)")
        for (key, tensor) in stored {
            #expect(written[key]?.shape == tensor.shape && written[key]?.values == tensor.values, "\(name) \(key)")
        }
        var theirs = Self.meaning(try Self.json(folder.appendingPathComponent("config.json")))
        if name == "mistral" {  // the import cuts the context to the sliding window, exactly; the export keeps that window
            theirs["max_position_embeddings"] = theirs["sliding_window"]
        }
        let ours = Self.meaning(try Self.json(out.appendingPathComponent("config.json")))
        for key in theirs.keys.sorted() { #expect(ours[key] == theirs[key], "\(name) \(key)") }
        for file in ["chat_template.jinja", "tokenizer_config.json"]
            where FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path) {
            #expect(try Data(contentsOf: out.appendingPathComponent(file)) == Data(contentsOf: folder.appendingPathComponent(file)),
                    "\(name) \(file)")
        }
        #expect(NSDictionary(dictionary: try Self.json(out.appendingPathComponent("tokenizer.json")))
            == NSDictionary(dictionary: try Self.json(folder.appendingPathComponent("tokenizer.json"))), "\(name)")
    }

    /// A tiny model of the 2026 layout: ReLU², RMSNorm without gains, QK-norm, soft-cap, embedding norm, GQA.
    static func modern() -> ModelConfiguration {
        var c = ModelConfiguration(modelType: .gpt, vocabSize: 11, blockSize: 8)
        (c.layerCount, c.headCount, c.embeddingSize) = (2, 4, 16)
        ModelLayout.modern.apply(to: &c)
        (c.keyValueHeadCount, c.zeroInitProjections) = (2, false)
        return c
    }

    @Test func modernModelExportsAsNanochatWithEqualLogits() throws {
        var generator = SeededGenerator(seed: 3)
        let model = GPTLanguageModel(Self.modern(), generator: &generator)
        let checkpoint = Checkpoint(model: model, tokenizer: .character(CharacterTokenizer(training: "abcdefghijk")))
        let out = try Self.exported(checkpoint, "modern")
        defer { try? FileManager.default.removeItem(at: out) }
        #expect(try Self.json(out.appendingPathComponent("config.json"))["model_type"] as? String == "nanochat")
        // transformers 5's strict configuration classes refuse an int where a float is declared (soft-cap 15).
        let text = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
        for key in ["final_logit_softcapping", "rope_theta", "rms_norm_eps", "initializer_range"] {
            let value = try #require(text.firstMatch(of: try Regex("\"\(key)\": ([^,\\n]+)"))?.output[1].substring)
            #expect(value.contains(".") || value.contains("e"), "\(key): \(value)")
        }
        let back = try ModelFormats.named("hf").read(out, tokenizer: nil, configuration: nil)
        let reread = try #require(back.model as? GPTLanguageModel)
        var expected = model.configuration
        expected.feedForwardSize = reread.configuration.feedForwardSize
        expected.keyValueHeadCount = reread.configuration.keyValueHeadCount
        #expect(reread.configuration == expected)
        let ids = [1, 5, 2, 9, 0, 3]
        #expect(withoutGradient { reread.forward(ids).logits.values } == withoutGradient { model.forward(ids).logits.values })
    }

    @Test func swiGLUWithGainsIsLlamaAndOtherModelsAreRefusedByField() throws {
        var llama = Self.modern()
        (llama.activation, llama.gatedFeedForward, llama.feedForwardSize, llama.normAffine) = (.silu, true, 24, true)
        (llama.qkNorm, llama.embeddingNorm, llama.logitSoftcap, llama.tiedEmbeddings) = (false, false, nil, true)
        #expect(try HuggingFaceFamily.representing(llama) == .llama)
        llama.attentionBias = true
        #expect(try HuggingFaceFamily.representing(llama) == .qwen2)
        #expect(try HuggingFaceFamily.representing(Self.modern(), preferring: .llama) == .nanochat)
        var odd = Self.modern()
        (odd.activation, odd.normAffine) = (.gelu, true)
        #expect {
            try HuggingFaceFamily.representing(odd)
        } throws: { error in
            "\(error)".contains("activation") && "\(error)".contains("norm_affine") && "\(error)".contains("nanochat")
        }
        var generator = SeededGenerator(seed: 1)
        let refused = GPTLanguageModel(odd, generator: &generator)
        #expect(throws: GPTError.self) { try ModelFormats.named("hf").check(refused) }
    }
}
