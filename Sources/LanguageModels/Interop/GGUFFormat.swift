import Foundation

/// One `.gguf` file for llama.cpp (and everything built on it): read and written for the architectures this package
/// represents, `gpt2` (``LlamaCppGPT2``: models of nanoGPT's layout) and `llama`, `qwen2`, `qwen3`
/// (``LlamaCppFamilies``: rotary models those families hold exactly), with the tokenizer (``LlamaCppTokenizer``)
/// and the chat template in the metadata. Weights are read from F32, F16, BF16 and Q8_0 (converted to fp32) and
/// written as `--gguf-type` says.
public struct GGUFFormat: ModelFormat {
    public init() {}

    public var name: String { "gguf" }
    public var summary: String { "a GGUF file of llama.cpp (gpt2, llama, qwen2 or qwen3)" }

    public func recognizes(_ url: URL) -> Bool { ModelFormats.header(url, count: 4) == Data("GGUF".utf8) }

    public func read(_ url: URL, tokenizer: URL?, configuration: URL?) throws -> Checkpoint {
        try checkpoint(from: GGUF.File.read(url), source: url.path, tokenizer: tokenizer)
    }

    /// The model, tokenizer and chat files of a parsed GGUF file; `tokenizer` names a tokenizer file that replaces the
    /// metadata's, `source` names the file in errors.
    public func checkpoint(from file: GGUF.File, source: String, tokenizer: URL? = nil) throws -> Checkpoint {
        guard let arch = try file.string("general.architecture") else {
            throw GPTError.invalidGGUF(field: "general.architecture", reason: "is missing")
        }
        let family = HuggingFaceFamily(rawValue: arch).flatMap { LlamaCppFamilies.families.contains($0) ? $0 : nil }
        guard arch == "gpt2" || family != nil else {
            throw GPTError.invalidGGUF(field: "general.architecture", reason: "is \(String(arch.prefix(40)).debugDescription); "
                + "this package reads gpt2, llama, qwen2 and qwen3")
        }
        var (vocabulary, companions) = try LlamaCppTokenizer.read(file)
        if let tokenizer { (vocabulary, companions) = (try Tokenizer.read(from: tokenizer), [:]) }
        let (c, tensors) = try family.map {
            try LlamaCppFamilies.read(file, family: $0, vocabularySize: vocabulary.vocabularySize, source: source)
        } ?? LlamaCppGPT2.read(file, vocabularySize: vocabulary.vocabularySize)
        var checkpoint = try ModelFormats.assemble(tensors, configuration: c, tokenizer: vocabulary, source: source)
        (checkpoint.companionFiles, checkpoint.family) = (companions, arch)
        return checkpoint
    }

    public func check(_ model: GPTLanguageModel) throws -> String? {
        let c = model.configuration
        if c.positionEncoding == .rope {
            _ = try LlamaCppFamilies.family(for: c, preferring: nil)
            return nil
        }
        try ModelLayout.nanoGPT.require(c, for: "llama.cpp's gpt2", only: LlamaCppGPT2.unsupported(c))
        return LlamaCppGPT2.approximation(model)
    }

    public func write(_ checkpoint: Checkpoint, to url: URL, options: ExportOptions) throws -> String {
        guard let model = checkpoint.model as? GPTLanguageModel else {
            throw GPTError.invalidArgument(name: "--checkpoint", reason: "only a GPT can be exported")
        }
        let c = model.configuration, type = options.ggufType
        guard c.positionEncoding == .rope else {
            let (metadata, tensors) = try LlamaCppGPT2.export(model, tokenizer: checkpoint.tokenizer, type: type)
            try GGUF.write(metadata: metadata, tensors: tensors, to: url)
            return "\(url.path): GGUF for llama.cpp's gpt2 (\(tensors.count) tensors, weights \(type.name))"
        }
        let family = try LlamaCppFamilies.family(for: c, preferring: checkpoint.family)
        let vocabulary = try LlamaCppTokenizer.metadata(checkpoint.tokenizer, companionFiles: checkpoint.companionFiles,
                                                        modelVocabularySize: c.vocabSize)
        var (metadata, tensors) = try LlamaCppFamilies.export(model, family: family, type: type, extraRows: vocabulary.extraRows)
        metadata += vocabulary.metadata
        try GGUF.write(metadata: metadata, tensors: tensors, to: url)
        return "\(url.path): GGUF for llama.cpp's \(family.rawValue) (\(tensors.count) tensors, weights \(type.name))"
    }
}

extension GGUF.File {
    private func fail(_ key: String, _ value: GGUF.Value, _ expected: String) -> GPTError {
        .invalidGGUF(field: key, reason: "holds \(String("\(value)".prefix(60))), not \(expected)")
    }

    /// The integer at `key` (any integer type), nil when absent.
    func integer(_ key: String) throws -> Int? {
        switch metadata[key] {
        case nil: return nil
        case .uint32(let v)?: return Int(v)
        case .int32(let v)?: return Int(v)
        case .uint64(let v)? where v <= UInt64(Int32.max): return Int(v)
        case .int64(let v)? where abs(v) <= Int64(Int32.max): return Int(v)
        case let other?: throw fail(key, other, "an integer of at most 2^31")
        }
    }

    func float(_ key: String) throws -> Double? {
        switch metadata[key] {
        case nil: return nil
        case .float32(let v)?: return Double(v)
        case .float64(let v)?: return v
        case let other?: throw fail(key, other, "a number")
        }
    }

    /// The value at `key` as `extract` reads it, nil when absent; a value of another type is an error naming
    /// `expected`.
    private func typed<Value>(_ key: String, _ expected: String, _ extract: (GGUF.Value) -> Value?) throws -> Value? {
        guard let value = metadata[key] else { return nil }
        guard let typed = extract(value) else { throw fail(key, value, expected) }
        return typed
    }

    func string(_ key: String) throws -> String? {
        try typed(key, "a string") { if case .string(let v) = $0 { v } else { nil } }
    }

    func bool(_ key: String) throws -> Bool? {
        try typed(key, "a bool") { if case .bool(let v) = $0 { v } else { nil } }
    }

    func strings(_ key: String) throws -> [String]? {
        try typed(key, "an array of strings") { if case .strings(let v) = $0 { v } else { nil } }
    }

    func int32s(_ key: String) throws -> [Int32]? {
        try typed(key, "an array of integers") { if case .int32s(let v) = $0 { v } else { nil } }
    }

    func float32s(_ key: String) throws -> [Float]? {
        try typed(key, "an array of float32") { if case .float32s(let v) = $0 { v } else { nil } }
    }
}
