import Foundation

/// A PyTorch state dict saved with safetensors under nanoGPT's names (`transformer.wte.weight`, for nanoGPT's
/// `GPT.load_state_dict`) or the lecture's (`blocks.0.sa.heads.0.key.weight`, for gpt.py's model).
///
/// Written as `NAME.safetensors` with, beside it, `NAME.json` (nanoGPT: exactly `GPTConfig`'s fields, for
/// `GPTConfig(**json)`; lecture: this package's configuration), `NAME.swift-gpt.json` (nanoGPT: the full
/// configuration) and `NAME.tokenizer.json`, so `gpt import NAME.safetensors` needs nothing else.
public struct StateDictFormat: ModelFormat {
    public let layout: StateDictLayout
    public var name: String { layout.rawValue }
    public var summary: String { "a state dict as safetensors with \(layout == .nanoGPT ? "nanoGPT's" : "the lecture's") names" }

    /// The files beside `url` that complete it.
    static func companions(of url: URL) -> (configuration: URL, full: URL, tokenizer: URL) {
        let base = url.deletingPathExtension()
        return (base.appendingPathExtension("json"), base.appendingPathExtension("swift-gpt.json"),
                base.appendingPathExtension("tokenizer.json"))
    }

    public func recognizes(_ url: URL) -> Bool {
        let header = ModelFormats.header(url, count: 1 << 20)
        guard header.count >= 8 else { return false }
        let length = header.prefix(8).withUnsafeBytes { Int(clamping: $0.loadUnaligned(as: UInt64.self).littleEndian) }
        guard length > 1, length <= header.count - 8,
              let object = try? JSONSerialization.jsonObject(with: header.subdata(in: 8..<(8 + length))) as? [String: Any]
        else { return false }
        let lecture = object["token_embedding_table.weight"] != nil
        return layout == .lecture ? lecture : !lecture && object["transformer.wte.weight"] != nil
    }

    public func read(_ url: URL, tokenizer: URL?, configuration: URL?) throws -> Checkpoint {
        let tensors = try SafeTensors.read(url).tensors
        let beside = Self.companions(of: url)
        let configURL = configuration ?? [beside.full, beside.configuration].first {
            FileManager.default.fileExists(atPath: $0.path)
        }
        guard let configURL else {
            throw GPTError.invalidCheckpoint(path: url.path, reason: "no configuration beside it (\(beside.configuration.lastPathComponent)); name one with --config")
        }
        var model: ModelConfiguration = try Checkpoint.decodeJSON(configURL)
        if configURL != beside.full {  // nanoGPT's GPTConfig or a configuration given: the layout as the tensors show it
            model = layout.inferringLayout(tensors, into: model)
        }
        let chosen = try ModelFormats.tokenizer(tokenizer, beside: [beside.tokenizer], for: url.path)
        return try ModelFormats.assemble(try layout.nativeTensors(tensors, configuration: model), configuration: model,
                                         tokenizer: chosen, source: url.path)
    }

    public func check(_ model: GPTLanguageModel) throws -> String? {
        try layout.checkCompatible(model.configuration)
        return layout == .nanoGPT && model.configuration.activation == .geluTanh ? "nanoGPT computes the exact GELU; this model uses GPT-2's tanh form, so outputs differ slightly" : nil
    }

    public func write(_ checkpoint: Checkpoint, to url: URL, options: ExportOptions) throws -> String {
        guard let model = checkpoint.model as? GPTLanguageModel else {
            throw GPTError.invalidArgument(name: "--checkpoint", reason: "only a GPT can be exported")
        }
        let tensors = try layout.exportTensors(model)
        let named = tensors.keys.sorted().map { (name: $0, tensor: Tensor(shape: tensors[$0]!.shape, values: tensors[$0]!.values)) }
        let beside = Self.companions(of: url)
        let c = model.configuration
        try writeAtomically(checkpoint.tokenizer.huggingFaceJSON(), to: beside.tokenizer)
        if layout == .nanoGPT {
            // nanoGPT's GPTConfig(**json) takes exactly its own fields; the full configuration goes beside it.
            let config: [String: Any] = ["block_size": c.blockSize, "vocab_size": c.vocabSize, "n_layer": c.layerCount,
                                         "n_head": c.headCount, "n_embd": c.embeddingSize, "dropout": Double(c.dropout),
                                         "bias": c.bias]
            try writeAtomically(try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]),
                                to: beside.configuration)
            try writeAtomically(try Checkpoint.json(c), to: beside.full)
        } else {
            try writeAtomically(try Checkpoint.json(c), to: beside.configuration)
        }
        try SafeTensors.write(named, metadata: ["format": "pt"], to: url)
        let files = [beside.configuration] + (layout == .nanoGPT ? [beside.full] : []) + [beside.tokenizer]
        return "\(url.path) (\(named.count) tensors, \(layout == .nanoGPT ? "nanoGPT" : "the lecture's") names) and "
            + files.map(\.lastPathComponent).joined(separator: ", ")
    }
}

extension StateDictLayout {
    /// `configuration` with the layout fields the tensors show: the lecture's (ReLU, untied head; biases as present)
    /// or nanoGPT's (exact GELU; biases as present, the head tied where `lm_head.weight` is absent or equals `wte`).
    func inferringLayout(_ tensors: StateDict, into configuration: ModelConfiguration) -> ModelConfiguration {
        var c = configuration
        c.modelType = .gpt
        switch self {
        case .lecture:
            ModelLayout.lecture.apply(to: &c)
            c.lmHeadBias = tensors["lm_head.bias"] != nil
            c.attentionBias = tensors["blocks.0.sa.heads.0.key.bias"] != nil
        case .nanoGPT:
            ModelLayout.nanoGPT.apply(to: &c)
            c.attentionBias = tensors["transformer.h.0.attn.c_attn.bias"] != nil
            c.bias = tensors["transformer.ln_f.bias"] != nil
            c.tiedEmbeddings = tensors["lm_head.weight"].map { $0.values == tensors["transformer.wte.weight"]?.values } ?? true
            c.lmHeadBias = tensors["lm_head.bias"] != nil
        }
        return c
    }
}

/// nanoGPT's `ckpt.pt` (read without Python, running nothing in it): the weights and `model_args`, and the tokenizer
/// from `--vocab` or beside it (`meta.pkl`, `meta.json` or `tokenizer.json` in its folder). Read only: exports to
/// nanoGPT go out as a state dict (``StateDictFormat``), which `GPT.load_state_dict` takes.
public struct NanoGPTCheckpointFormat: ModelFormat {
    public var name: String { "ckpt" }
    public var summary: String { "nanoGPT's ckpt.pt" }

    public func recognizes(_ url: URL) -> Bool { ModelFormats.header(url, count: 4) == Data([0x50, 0x4B, 0x03, 0x04]) }

    public func read(_ url: URL, tokenizer: URL?, configuration: URL?) throws -> Checkpoint {
        let torch = try TorchCheckpoint(contentsOf: url)
        let layout = StateDictLayout.detect(torch.tensors)
        let base: ModelConfiguration = try configuration.map { try Checkpoint.decodeJSON($0) } ?? torch.configuration(source: url.path)
        let model = layout.inferringLayout(torch.tensors, into: base)
        let folder = url.deletingLastPathComponent()
        let chosen = try ModelFormats.tokenizer(tokenizer, beside: ["meta.pkl", "meta.json", "tokenizer.json"].map {
            folder.appendingPathComponent($0)
        }, for: url.path)
        return try ModelFormats.assemble(try layout.nativeTensors(torch.tensors, configuration: model), configuration: model,
                                         tokenizer: chosen, source: url.path)
    }

    static let readOnly = GPTError.invalidArgument(name: "--format", reason:
        "ckpt.pt is read only; export to nanogpt (a state dict that nanoGPT's GPT loads)")

    public func check(_ model: GPTLanguageModel) throws -> String? { throw Self.readOnly }

    public func write(_ checkpoint: Checkpoint, to url: URL, options: ExportOptions) throws -> String { throw Self.readOnly }
}
