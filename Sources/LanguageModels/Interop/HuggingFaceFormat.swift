import Foundation

/// A folder for Hugging Face transformers (`save_pretrained` / `from_pretrained`): `config.json`,
/// `model.safetensors` (or shards) and the tokenizer files. Reads GPT-2 folders (`model_type` "gpt2") and those of
/// the Llama, Mistral, Qwen2, Qwen3 and nanochat families (``HuggingFaceFamily``), keeping their chat template and
/// special tokens beside the checkpoint; writes a model of the 2019 layout as GPT-2 with its tokenizer beside it, and
/// one with rotary positions as the family that holds it exactly (``HuggingFaceFamily/representing(_:preferring:)``).
public struct HuggingFaceFormat: ModelFormat {
    public var name: String { "hf" }
    public var summary: String { "a Hugging Face folder (config.json with model_type \(HuggingFaceFamily.importedTypes))" }
    /// The tokenizer file earlier versions wrote beside a character or word tokenizer (read still).
    static let olderTokenizerFile = "tokenizer.swift-gpt.json"

    public func recognizes(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path)
            && ModelFormats.header(url.appendingPathComponent("config.json"), count: 1 << 20).count > 0
    }

    public func read(_ url: URL, tokenizer: URL?, configuration: URL?) throws -> Checkpoint {
        if let configuration {
            throw GPTError.invalidArgument(name: "--config", reason: "a Hugging Face folder has its own config.json, not \(configuration.path.prefix(200))")
        }
        guard HuggingFaceGPT2.isModelDirectory(url) else {
            let (family, configuration, tensors) = try HuggingFaceFamily.load(url)
            let chosen = try ModelFormats.tokenizer(tokenizer, beside: [url.appendingPathComponent(Checkpoint.tokenizerFile)], for: url.path)
            var checkpoint = try ModelFormats.assemble(tensors, configuration: configuration, tokenizer: chosen, source: url.path)
            checkpoint.companionFiles = try HuggingFaceFamily.companionFiles(url)
            checkpoint.family = family.rawValue
            return checkpoint
        }
        let (model, tensors) = try HuggingFaceGPT2.load(url)
        let chosen: Tokenizer
        let vocabulary = url.appendingPathComponent("vocab.json"), merges = url.appendingPathComponent("merges.txt")
        // tokenizer.json first: GPT-2's vocab.json and merges.txt lack the tokens added after the vocabulary
        // (<|im_start|>, <|im_end|>), whose embedding rows would be cut as padding.
        let hasTokenizerJSON = FileManager.default.fileExists(atPath: url.appendingPathComponent(Checkpoint.tokenizerFile).path)
        if tokenizer == nil, !hasTokenizerJSON,
           let vocabularyData = try boundedContents(of: vocabulary, limit: BytePairTokenizer.maximumFileBytes) {
            guard let mergesData = try boundedContents(of: merges, limit: BytePairTokenizer.maximumFileBytes) else {
                throw GPTError.invalidCheckpoint(path: url.path, reason: "vocab.json is there but merges.txt is not")
            }
            guard let mergesText = String(data: mergesData, encoding: .utf8) else {
                throw GPTError.invalidCheckpoint(path: merges.path, reason: "it is not UTF-8 text")
            }
            // The vocabulary's size is compared with the model's before any merge is read.
            chosen = .bytePair(try BytePairTokenizer(gpt2Vocabulary: vocabularyData, merges: mergesText,
                                                     maximumVocabularySize: model.vocabSize))
        } else {
            chosen = try ModelFormats.tokenizer(tokenizer, beside: [Checkpoint.tokenizerFile, Self.olderTokenizerFile].map {
                url.appendingPathComponent($0)
            }, for: url.path)
        }
        var checkpoint = try ModelFormats.assemble(tensors, configuration: model, tokenizer: chosen, source: url.path)
        checkpoint.companionFiles = try HuggingFaceFamily.companionFiles(url)
        checkpoint.family = "gpt2"
        return checkpoint
    }

    /// A model with learned positions goes out as GPT-2; one with rotary positions as the family that holds it.
    public func check(_ model: GPTLanguageModel) throws -> String? {
        if Self.isGPT2(model.configuration) {
            try ModelLayout.nanoGPT.require(model.configuration, for: "transformers' GPT-2",
                                            only: HuggingFaceGPT2.unsupported(model.configuration))
        } else {
            _ = try HuggingFaceFamily.representing(model.configuration)
        }
        return nil
    }

    static func isGPT2(_ c: ModelConfiguration) -> Bool { c.positionEncoding == .learned }

    public func write(_ checkpoint: Checkpoint, to url: URL, options: ExportOptions) throws -> String {
        guard let model = checkpoint.model as? GPTLanguageModel else {
            throw GPTError.invalidArgument(name: "--checkpoint", reason: "only a GPT can be exported")
        }
        guard Self.isGPT2(model.configuration) else {
            let (family, count) = try HuggingFaceFamily.write(checkpoint, model: model, to: url)
            return "\(url.path): config.json (model_type \(family.rawValue)) and model.safetensors (\(count) tensors) for "
                + "AutoModelForCausalLM.from_pretrained, tokenizer.json"
                + (checkpoint.companionFiles.isEmpty ? "" : " and " + checkpoint.companionFiles.keys.sorted().joined(separator: ", "))
        }
        var endOfText: Int?
        if case .bytePair(let bpe) = checkpoint.tokenizer { endOfText = bpe.endOfTextToken }
        let (config, tensors) = try HuggingFaceGPT2.export(model, endOfText: endOfText)
        try SafeTensors.write(tensors.map { (name: $0.name, tensor: Tensor(shape: $0.shape, values: $0.values)) },
                              metadata: ["format": "pt"], to: url.appendingPathComponent("model.safetensors"))
        try writeAtomically(try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]),
                            to: url.appendingPathComponent("config.json"))
        // Hugging Face's tokenizer.json for every kind (AutoTokenizer and tokenizers read it with the same ids), and
        // for byte-level BPE also GPT-2's vocab.json and merges.txt (GPT2Tokenizer reads those).
        try writeAtomically(checkpoint.tokenizer.huggingFaceJSON(), to: url.appendingPathComponent(Checkpoint.tokenizerFile))
        var tokenizerNote = "tokenizer.json (Hugging Face's)"
        if case .bytePair(let bpe) = checkpoint.tokenizer {
            let files = try bpe.gpt2Files()
            try writeAtomically(files.vocabulary, to: url.appendingPathComponent("vocab.json"))
            try writeAtomically(Data(files.merges.utf8), to: url.appendingPathComponent("merges.txt"))
            tokenizerNote += ", vocab.json and merges.txt (GPT-2's tokenizer files)"
        }
        return "\(url.path): config.json and model.safetensors (\(tensors.count) tensors) for "
            + "GPT2LMHeadModel.from_pretrained, \(tokenizerNote)"
    }
}
