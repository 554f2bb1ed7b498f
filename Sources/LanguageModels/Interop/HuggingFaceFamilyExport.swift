import Foundation

/// Export to the families' folders: the `config.json` a family's transformers class reads, checked by reading it back
/// with the import's own reader (``configuration(_:)``), so that a family is chosen only when it holds the model
/// exactly, and the weights renamed by the same ``tensorTable(_:)`` import reads.
extension HuggingFaceFamily {
    /// transformers' class of this family's causal language model (`architectures` in `config.json`).
    var architecture: String {
        switch self {
        case .llama: "LlamaForCausalLM"
        case .mistral: "MistralForCausalLM"
        case .qwen2: "Qwen2ForCausalLM"
        case .qwen3: "Qwen3ForCausalLM"
        case .nanochat: "NanoChatForCausalLM"
        }
    }

    /// The families a model trained here is tried as, in this order (nanochat's layout first, then the Llama family's
    /// most common form).
    public static let exportOrder: [HuggingFaceFamily] = [.nanochat, .llama, .qwen3, .qwen2, .mistral]

    /// `c` as this family's `config.json`: the shape from ``shapeKeys``, the rotary parameters in transformers 5's
    /// `rope_parameters`, and the options this family fixes written as it fixes them (whether `c` has them is
    /// ``mismatches(_:)``'s question). `endOfText` is written as the bos and eos tokens.
    func configJSON(_ c: ModelConfiguration, endOfText: Int?) throws -> Data {
        let endOfText = endOfText.map { OrderedJSON.integer($0) } ?? .null
        var config: [String: OrderedJSON] = [
            "model_type": .string(rawValue), "architectures": .array([.string(architecture)]),
            "intermediate_size": .integer(c.feedForwardWidth),
            "num_key_value_heads": .integer(c.keyValueHeadCount ?? c.headCount), "head_dim": .integer(c.headSize),
            "rms_norm_eps": .float(c.normEpsilon), "tie_word_embeddings": .bool(c.tiedEmbeddings),
            "attention_dropout": .float(0), "initializer_range": .float(0.02), "use_cache": .bool(true),
            "bos_token_id": endOfText, "eos_token_id": endOfText,
        ]
        for (key, field) in Self.shapeKeys { config[key] = .integer(c[keyPath: field]) }
        typealias Key = RopeScaling.CodingKeys
        var rotary: [String: OrderedJSON] = [Key.kind.rawValue: .string("default")]
        if let scaling = c.ropeScaling {
            rotary = [Key.kind.rawValue: .string(scaling.kind.rawValue), Key.factor.rawValue: .float(scaling.factor)]
            if let low = scaling.lowFrequencyFactor { rotary[Key.lowFrequencyFactor.rawValue] = .float(low) }
            if let high = scaling.highFrequencyFactor { rotary[Key.highFrequencyFactor.rawValue] = .float(high) }
            if let context = scaling.originalContext { rotary[Key.originalContext.rawValue] = .integer(context) }
        }
        rotary["rope_theta"] = .float(c.ropeTheta)
        config["rope_parameters"] = .sortedObject(rotary)
        let silu = OrderedJSON.string("silu")
        switch self {
        case .llama: (config["hidden_act"], config["attention_bias"], config["mlp_bias"]) = (silu, .bool(c.attentionBias), .bool(c.attentionBias))
        case .mistral: (config["hidden_act"], config["sliding_window"]) = (silu, .integer(c.blockSize))  // the import's window
        case .qwen2, .qwen3:
            (config["hidden_act"], config["use_sliding_window"], config["sliding_window"]) = (silu, .bool(false), .null)
            if self == .qwen3 { config["attention_bias"] = .bool(false) }
        case .nanochat:
            (config["hidden_act"], config["attention_bias"]) = (.string("relu2"), .bool(false))
            config["final_logit_softcapping"] = c.logitSoftcap.map { .float($0) } ?? .null
        }
        return Data(OrderedJSON.sortedObject(config).text.utf8)
    }

    /// The fields of `c` this family cannot hold, with the value it needs: `c` written as this family's `config.json`
    /// and read back by the import, compared field by field. Empty when the family represents `c` exactly.
    func mismatches(_ c: ModelConfiguration) throws -> [ModelLayout.Requirement] {
        let data = try configJSON(c, endOfText: nil)
        var read: ModelConfiguration
        do {
            read = try configuration(JSONField(OrderedJSON(parsing: data)))
        } catch let error as JSONFieldError {
            return [ModelLayout.Requirement(field: error.path, expected: error.reason)]
        }
        var shape = [ModelLayout.Requirement]()
        for (key, field) in Self.shapeKeys where read[keyPath: field] != c[keyPath: field] {
            shape.append(ModelLayout.Requirement(field: key, expected: "\(read[keyPath: field])"))
        }
        if read.ropeScaling != c.ropeScaling { shape.append(ModelLayout.Requirement(field: "rope_scaling", expected: "none")) }
        if read.ropeTheta != c.ropeTheta { shape.append(ModelLayout.Requirement(field: "rope_theta", expected: "\(read.ropeTheta)")) }
        return shape + ModelLayout.differences(c, from: read)
    }

    /// The family that holds `c` exactly: `preferred` (the one a model was imported as) when it does, else the first of
    /// `order` (``exportOrder``, or the families another format holds) that does. Throws naming every field that keeps
    /// `c` from the nearest family.
    public static func representing(_ c: ModelConfiguration, preferring preferred: HuggingFaceFamily? = nil,
                                    among order: [HuggingFaceFamily] = exportOrder) throws -> HuggingFaceFamily {
        guard c.modelType == .gpt else {
            throw GPTError.invalidConfiguration(field: "model_type", reason: "only a GPT can be written as a Hugging Face model")
        }
        var nearest: (family: HuggingFaceFamily, wrong: [ModelLayout.Requirement])?
        for family in (preferred.map { order.contains($0) ? [$0] : [] } ?? []) + order {
            let wrong = try family.mismatches(c)
            if wrong.isEmpty { return family }
            if wrong.count < nearest?.wrong.count ?? .max { nearest = (family, wrong) }
        }
        let (family, wrong) = nearest!
        let others = wrong.dropFirst().map { "\($0.field)=\($0.expected)" }
        throw GPTError.invalidConfiguration(field: wrong[0].field, reason: "must be \(wrong[0].expected)"
            + (others.isEmpty ? "" : " (and \(others.joined(separator: ", ")))")
            + " for \(family.rawValue), the nearest of the families (\(order.map(\.rawValue).joined(separator: ", "))); "
            + "no family holds this model exactly" + (order.contains(.nanochat) ? ": train with --layout modern for nanochat" : ""))
    }

    /// Writes `checkpoint` as a folder of the family that represents it (``representing(_:preferring:)``): `config.json`,
    /// `model.safetensors` (F32, transformers' names), `tokenizer.json` and the companion files (chat template,
    /// tokenizer configuration) as they came. Returns the family and the number of tensors.
    static func write(_ checkpoint: Checkpoint, model: GPTLanguageModel, to url: URL) throws -> (HuggingFaceFamily, Int) {
        let c = model.configuration
        let family = try representing(c, preferring: checkpoint.family.flatMap(HuggingFaceFamily.init(rawValue:)))
        var endOfText: Int?
        if case .bytePair(let bpe) = checkpoint.tokenizer { endOfText = bpe.endOfTextToken }
        var native: StateDict = [:]
        for (name, tensor) in model.namedParameters() { native[name] = (tensor.shape, tensor.values) }
        let tensors = family.exportTensors(native, configuration: c)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try SafeTensors.write(tensors.keys.sorted().map { (name: $0, tensor: Tensor(shape: tensors[$0]!.shape, values: tensors[$0]!.values)) },
                              metadata: ["format": "pt"], to: url.appendingPathComponent(Checkpoint.weightsFile))
        for (name, data) in checkpoint.companionFiles.sorted(by: { $0.key < $1.key }) where Checkpoint.companionFileNames.contains(name) {
            try writeAtomically(data, to: url.appendingPathComponent(name))
        }
        try writeAtomically(checkpoint.tokenizer.huggingFaceJSON(), to: url.appendingPathComponent(Checkpoint.tokenizerFile))
        try writeAtomically(family.configJSON(c, endOfText: endOfText), to: url.appendingPathComponent(Checkpoint.configurationFile))
        return (family, tensors.count)
    }
}

extension Checkpoint {
    /// What an import found, for a person: the family and shape when the format names a family ("a llama model: 30
    /// layers, 576 wide, 9 heads (3 key/value heads), 134,515,008 parameters"), else the format's description.
    public func description(from format: any ModelFormat) -> String {
        let parameters = model.parameterCount
        guard let family, let c = (model as? GPTLanguageModel)?.configuration else {
            return "\(format.summary) (\(parameters) parameters)"
        }
        let kv = c.keyValueHeadCount.map { $0 == c.headCount ? "" : " (\($0) key/value heads)" } ?? ""
        return "a \(family) model: \(c.layerCount) layers, \(c.embeddingSize) wide, \(c.headCount) heads\(kv), "
            + "\(c.vocabSize) tokens, \(parameters) parameters"
    }
}
