import Foundation

/// The families of today's small open models that transformers saves with a `config.json` naming `model_type`
/// `llama` (Llama, SmolLM2, TinyLlama), `mistral`, `qwen2` (Qwen2.5), `qwen3` or `nanochat`: each is this package's
/// one GPT with the options its configuration names (rotary positions, RMSNorm, grouped-query attention, SwiGLU,
/// q/k/v biases, QK-norm, a head size of its own, RoPE scaling, soft-cap), its weights renamed by
/// ``tensorTable(_:)``, one table per family that export reads the other way.
///
/// What a family's configuration can hold that this package does not compute (another RoPE type, a partial rotation,
/// biases on some projections but not others, quantised weights, another activation) is refused naming the key. A
/// sliding window (Mistral's) cuts the context to the window, inside which attention is exactly full attention.
public enum HuggingFaceFamily: String, CaseIterable, Sendable {
    case llama, mistral, qwen2, qwen3, nanochat

    /// The family `config.json` names (`model_type`); `nil` for GPT-2 or anything else.
    static func of(configJSON data: Data) -> HuggingFaceFamily? {
        guard let type = try? JSONField(OrderedJSON(parsing: data)).member("model_type").string() else { return nil }
        return HuggingFaceFamily(rawValue: type)
    }

    /// Every `model_type` the Hugging Face reader imports, for messages.
    static var importedTypes: String { (["gpt2"] + allCases.map(\.rawValue)).joined(separator: ", ") }

    /// The configuration a transformers `config.json` of this family describes, strictly read: the shape's integers
    /// are required, every key read must have its type, and the options this package cannot compute are refused by
    /// name. `source` names the file in errors.
    public static func configuration(configJSON data: Data, source: String) throws
        -> (family: HuggingFaceFamily, configuration: ModelConfiguration) {
        do {
            let file = JSONField(try OrderedJSON(parsing: data))
            try refuseWhatIsNotAPlainLanguageModel(file)
            let type = try file.member("model_type")
            guard let family = HuggingFaceFamily(rawValue: try type.string()) else {
                throw type.fail("is \(String(try type.string().prefix(40)).debugDescription), not one this tool imports (\(importedTypes))")
            }
            return (family, try family.configuration(file))
        } catch let error as JSONFieldError {
            throw GPTError.invalidCheckpoint(path: source, reason: "\(error)")
        }
    }

    /// Refuses quantised weights and multimodal models, naming what and why.
    static func refuseWhatIsNotAPlainLanguageModel(_ file: JSONField) throws {
        if let quantization = try file.optionalMember("quantization_config") {
            let method = try? quantization.optionalMember("quant_method")?.string()
            throw quantization.fail("says the weights are quantised\(method.map { " (\($0.prefix(40)))" } ?? ""); this package "
                + "reads F32, BF16 and F16 weights only: import the unquantised model")
        }
        for key in ["vision_config", "audio_config", "text_config"] {
            if let field = try file.optionalMember(key) {
                throw field.fail("belongs to a multimodal (vision or audio) model; this package imports text-only language models")
            }
        }
    }

    /// The integers of the shape every family's `config.json` holds, and the fields they are: read by import, written
    /// by export.
    static var shapeKeys: [(key: String, field: WritableKeyPath<ModelConfiguration, Int>)] {
        [("vocab_size", \.vocabSize), ("max_position_embeddings", \.blockSize), ("num_hidden_layers", \.layerCount),
         ("num_attention_heads", \.headCount), ("hidden_size", \.embeddingSize)]
    }

    /// This family's configuration from `file`.
    func configuration(_ file: JSONField) throws -> ModelConfiguration {
        func integer(_ key: String) throws -> Int { try file.member(key).int() }
        func flag(_ key: String, _ fallback: Bool) throws -> Bool { try file.optionalMember(key)?.bool() ?? fallback }
        var c = ModelConfiguration(modelType: .gpt, vocabSize: 0, blockSize: 0)
        for (key, field) in Self.shapeKeys { c[keyPath: field] = try integer(key) }
        guard (1...ModelConfiguration.maximumBlockSize).contains(c.blockSize) else {
            throw try file.member("max_position_embeddings")
                .fail("is \(c.blockSize), outside the 1...\(ModelConfiguration.maximumBlockSize) positions this package holds")
        }
        c.keyValueHeadCount = try file.optionalMember("num_key_value_heads")?.int() ?? c.headCount
        c.feedForwardSize = try integer("intermediate_size")
        if let headDimension = try file.optionalMember("head_dim")?.int(), headDimension * c.headCount != c.embeddingSize {
            c.headDimension = headDimension
        }
        (c.positionEncoding, c.norm, c.dropout, c.lmHeadBias) = (.rope, .rmsNorm, 0, false)
        c.normEpsilon = Float(try file.optionalMember("rms_norm_eps")?.double() ?? 1e-6)
        c.tiedEmbeddings = try flag("tie_word_embeddings", false)
        try readRotary(file, into: &c)
        try readWindow(file, context: &c)
        let activation = try file.optionalMember("hidden_act")
        let act = try activation?.string() ?? (self == .nanochat ? "relu2" : "silu")
        let attentionBias = try file.optionalMember("attention_bias")
        switch self {
        case .llama, .mistral, .qwen2, .qwen3:
            guard act == "silu" || act == "swish" else {
                throw activation!.fail("is \(String(act.prefix(40)).debugDescription); this family's gated feed-forward is computed with silu only")
            }
            (c.activation, c.gatedFeedForward) = (.silu, true)
            if self == .qwen2 {
                (c.attentionBias, c.bias) = (true, false)  // q, k and v have biases; o_proj and the MLP none
            } else {
                // q, k, v and o share attention_bias; the MLP follows mlp_bias (Llama): one `bias` here, so they must agree.
                let attention = try attentionBias?.bool() ?? false, mlp = try file.optionalMember("mlp_bias")
                let mlpBias = try mlp?.bool() ?? false
                if mlpBias != attention {
                    throw (mlp ?? attentionBias!).fail("differs: attention_bias is \(attention) and mlp_bias \(mlpBias), but this "
                        + "package has one bias switch for the attention output projection and the feed-forward")
                }
                (c.attentionBias, c.bias) = (attention, attention)
            }
            (c.qkNorm, c.qkNormAffine) = (self == .qwen3, self == .qwen3)
        case .nanochat:
            guard act == "relu2" else { throw activation!.fail("is \(String(act.prefix(40)).debugDescription); nanochat's feed-forward is relu2") }
            if try attentionBias?.bool() == true { throw attentionBias!.fail("must be false: nanochat's projections have no biases here") }
            (c.activation, c.bias, c.attentionBias, c.normAffine) = (.relu2, false, false, false)
            (c.qkNorm, c.embeddingNorm) = (true, true)
            if let cap = try file.optionalMember("final_logit_softcapping") { c.logitSoftcap = Float(try cap.double()) }
        }
        if let cap = try file.optionalMember("attn_logit_softcapping") { throw cap.fail("must be null: attention scores are not capped here") }
        return c
    }

    /// The rotary base and scaling from transformers 5's `rope_parameters`, or the older `rope_theta` and
    /// `rope_scaling`. A `partial_rotary_factor` other than 1 and any type but default, linear and llama3 are refused.
    func readRotary(_ file: JSONField, into c: inout ModelConfiguration) throws {
        let parameters = try file.optionalMember("rope_parameters")
        let theta = try parameters?.optionalMember("rope_theta") ?? file.member("rope_theta")
        c.ropeTheta = Float(try theta.double())
        for holder in [file, parameters].compactMap({ $0 }) {
            if let partial = try holder.optionalMember("partial_rotary_factor"), try partial.double() != 1 {
                throw partial.fail("must be 1: this package rotates every channel of a head")
            }
        }
        guard let scaling = try parameters ?? file.optionalMember("rope_scaling") else { return }
        let typeField = try scaling.optionalMember("rope_type") ?? scaling.optionalMember("type")
        let type = try typeField?.string() ?? "default"
        func number(_ key: String) throws -> Float { Float(try scaling.member(key).double()) }
        switch type {
        case "default": return
        case "linear": c.ropeScaling = RopeScaling(kind: .linear, factor: try number("factor"))
        case "llama3":
            let original = try scaling.optionalMember("original_max_position_embeddings")?.int() ?? c.blockSize
            c.ropeScaling = RopeScaling(kind: .llama3, factor: try number("factor"), lowFrequencyFactor: try number("low_freq_factor"),
                                        highFrequencyFactor: try number("high_freq_factor"), originalContext: original)
        default:
            throw typeField!.fail("is \(String(type.prefix(40)).debugDescription), a RoPE scaling this package does not compute "
                + "(default, linear and llama3 only)")
        }
    }

    /// A sliding window (Mistral's `sliding_window`, Qwen's with `use_sliding_window`): attention within the window is
    /// full causal attention, so the context is cut to the window, which keeps the model exact.
    func readWindow(_ file: JSONField, context c: inout ModelConfiguration) throws {
        let applies: Bool
        switch self {
        case .mistral: applies = true
        case .qwen2, .qwen3: applies = try file.optionalMember("use_sliding_window")?.bool() ?? false
        case .llama, .nanochat: applies = false
        }
        guard applies, let window = try file.optionalMember("sliding_window") else { return }
        let size = try window.int()
        guard size >= 1 else { throw window.fail("must be null or a positive number of positions, got \(size)") }
        c.blockSize = min(c.blockSize, size)
    }
}

extension HuggingFaceFamily {
    /// The family, configuration and weights (under this package's names) of a transformers folder: `config.json`
    /// read and validated first, then every tensor's shape compared with it before any is converted or moved.
    public static func load(_ directory: URL) throws
        -> (family: HuggingFaceFamily, configuration: ModelConfiguration, tensors: StateDict) {
        let configURL = directory.appendingPathComponent("config.json")
        guard let data = try boundedContents(of: configURL, limit: HuggingFaceGPT2.maximumMetadataBytes) else {
            throw GPTError.invalidCheckpoint(path: directory.path, reason: "config.json is missing")
        }
        let (family, configuration) = try configuration(configJSON: data, source: configURL.path)
        try configuration.validate()  // its bounds, and the weights' size against this machine's memory
        let tensors = try nativeTensors(HuggingFaceGPT2.storedTensors(directory), table: family.tensorTable(configuration),
                                        family: family.rawValue, source: directory.path)
        return (family, configuration, tensors)
    }

    /// What a chat needs beside the model, copied from a transformers folder as it is: the chat template (as
    /// `chat_template.jinja`, from that file or from `tokenizer_config.json`'s `chat_template`), `tokenizer_config.json`
    /// (the special tokens, bos and eos), `special_tokens_map.json` and `generation_config.json` when present.
    static func companionFiles(_ directory: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in Checkpoint.companionFileNames {
            files[name] = try boundedContents(of: directory.appendingPathComponent(name),
                                              limit: HuggingFaceGPT2.maximumMetadataBytes)
        }
        let configName = "tokenizer_config.json", templateName = "chat_template.jinja"
        if files[templateName] == nil, let config = files[configName] {
            do {
                let file = JSONField(try OrderedJSON(parsing: config))
                if let template = try file.optionalMember("chat_template") {
                    if case .string(let text) = template.value {
                        files[templateName] = Data(text.utf8)
                    } else {  // named templates: [{"name": "default", "template": "..."}, ...]
                        let named = try template.elements().first { try $0.member("name").string() == "default" }
                        if let text = try named?.member("template").string() { files[templateName] = Data(text.utf8) }
                    }
                }
            } catch let error as JSONFieldError {
                throw GPTError.invalidCheckpoint(path: directory.appendingPathComponent(configName).path, reason: "\(error)")
            }
        }
        return files
    }
}
