import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn nanoGPT's ckpt.pt, a Hugging Face GPT-2 folder or a safetensors state dict into a checkpoint.",
        discussion: """
            ckpt.pt is read without Python and without running anything in it: only tensors and plain values are \
            accepted. Its model_args give the configuration; a vocabulary padded past the tokenizer's (nanoGPT \
            pads GPT-2's 50257 to 50304) is cut to the tokenizer's tokens.
            """)

    @Option(help: "The weights: nanoGPT's ckpt.pt, a Hugging Face GPT-2 folder (save_pretrained), or a state dict as safetensors.")
    var weights: String?
    @Argument(help: "The weights, as --weights (either way).") var path: String?
    @Option(help: "What the weights are: hf, nanogpt (ckpt.pt) or safetensors (default: detected).") var from: String?
    @Option(help: "The model configuration, JSON with nanoGPT's keys (default for ckpt.pt: its model_args).")
    var config: String?
    @Option(help: "meta.pkl, meta.json or tokenizer.json (default for a Hugging Face folder: its vocab.json and merges.txt, else its tokenizer.json).")
    var vocab: String?
    @Option(help: "The checkpoint directory to write.") var out: String

    func run() throws {
        try reportingErrors {
            guard let weights = weights ?? path, (self.weights == nil) != (path == nil) else {
                throw GPTError.invalidArgument(name: "--weights", reason: "name the weights once: --weights PATH or PATH")
            }
            let url = URL(fileURLWithPath: weights)
            guard FileManager.default.fileExists(atPath: weights) else { throw GPTError.fileNotFound(path: weights) }
            let detected = HuggingFaceGPT2.isModelDirectory(url) ? "hf" : TorchCheckpoint.isTorchFile(url) ? "nanogpt" : "safetensors"
            if let from, from.lowercased() != detected {
                guard ["hf", "nanogpt", "safetensors"].contains(from.lowercased()) else {
                    throw GPTError.invalidArgument(name: "--from", reason: "use hf, nanogpt or safetensors, not \(from.prefix(40))")
                }
                throw GPTError.invalidArgument(name: "--from", reason: "says \(from.prefix(40)), but \(weights.prefix(200)) is "
                    + (detected == "hf" ? "a Hugging Face GPT-2 folder" : detected == "nanogpt" ? "a PyTorch ckpt.pt" : "neither a Hugging Face folder (config.json with model_type gpt2) nor a ckpt.pt"))
            }
            if detected == "hf" { return try importHuggingFace(url) }
            guard let vocab else { throw GPTError.invalidArgument(name: "--vocab", reason: "is needed for this kind of weights") }
            let torch = TorchCheckpoint.isTorchFile(url) ? try TorchCheckpoint(contentsOf: url) : nil
            let tensors = try torch?.tensors ?? SafeTensors.read(url).tensors
            let layout = StateDictLayout.detect(tensors)
            var configuration: ModelConfiguration
            if let config {
                guard let configData = FileManager.default.contents(atPath: config) else { throw GPTError.fileNotFound(path: config) }
                do { configuration = try JSONDecoder().decode(ModelConfiguration.self, from: configData) } catch {
                    throw GPTError.invalidCheckpoint(path: config, reason: "not a model configuration (\(error))")
                }
            } else if let torch {
                configuration = try torch.configuration(source: weights)
            } else {
                throw GPTError.invalidArgument(name: "--config", reason: "a safetensors state dict needs its configuration")
            }
            configuration.modelType = .gpt
            if layout == .lecture {  // the lecture's gpt.py: ReLU, untied head with a bias, no key/query/value bias
                configuration.activation = .relu
                configuration.tiedEmbeddings = false
                configuration.bias = true
                configuration.lmHeadBias = tensors["lm_head.bias"] != nil
                configuration.attentionBias = tensors["blocks.0.sa.heads.0.key.bias"] != nil
            } else {
                configuration.attentionBias = tensors["transformer.h.0.attn.c_attn.bias"] != nil
                configuration.bias = tensors["transformer.ln_f.bias"] != nil
                configuration.tiedEmbeddings = tensors["lm_head.weight"].map { $0.values == tensors["transformer.wte.weight"]?.values } ?? true
                configuration.lmHeadBias = tensors["lm_head.bias"] != nil
            }
            try save(tensors, configuration: configuration, tokenizer: try readTokenizer(vocab), layout: layout,
                     source: weights, described: "\(layout.rawValue) weights")
        }
    }

    /// Builds the model, with a vocabulary padded past the tokenizer's cut back to it, and writes the checkpoint.
    func save(_ tensors: StateDict, configuration: ModelConfiguration, tokenizer: Tokenizer, layout: StateDictLayout,
              source: String, described: String) throws {
        var (tensors, configuration) = (tensors, configuration)
        if configuration.vocabSize > tokenizer.vocabularySize {
            print("the model's vocabulary of \(configuration.vocabSize) is padded past the tokenizer's \(tokenizer.vocabularySize) "
                + "tokens: keeping the first \(tokenizer.vocabularySize) rows (their logits are unchanged)")
            tensors = croppingVocabulary(tensors, to: tokenizer.vocabularySize)
            configuration.vocabSize = tokenizer.vocabularySize
        }
        try configuration.validate()
        guard tokenizer.vocabularySize == configuration.vocabSize else {
            throw GPTError.invalidCheckpoint(path: vocab ?? source, reason:
                "the vocabulary has \(tokenizer.vocabularySize) tokens but vocab_size is \(configuration.vocabSize)")
        }
        var generator = SeededGenerator.forLoading
        let model = GPTLanguageModel(configuration, generator: &generator)
        try model.loadWeights(try layout.nativeTensors(tensors, configuration: configuration), source: source)
        try Checkpoint(model: model, tokenizer: tokenizer).save(to: URL(fileURLWithPath: out))
        print("imported \(described) (\(model.parameterCount) parameters) into \(out)")
    }

    /// A Hugging Face GPT-2 folder: its config.json, Conv1D weights transposed, its tokenizer files or `--vocab`.
    func importHuggingFace(_ directory: URL) throws {
        let (configuration, tensors) = try HuggingFaceGPT2.load(directory)
        let tokenizer: Tokenizer
        if let vocab {
            tokenizer = try readTokenizer(vocab)
        } else {
            let vocabulary = directory.appendingPathComponent("vocab.json"), merges = directory.appendingPathComponent("merges.txt")
            let huggingFace = directory.appendingPathComponent("tokenizer.json")
            if let vocabularyData = FileManager.default.contents(atPath: vocabulary.path),
               let mergesText = try? String(contentsOf: merges, encoding: .utf8) {
                tokenizer = .bytePair(try BytePairTokenizer(gpt2Vocabulary: vocabularyData, merges: mergesText))
            } else if FileManager.default.fileExists(atPath: huggingFace.path) {
                tokenizer = try readTokenizer(huggingFace.path)
            } else {
                throw GPTError.invalidArgument(name: "--vocab", reason:
                    "the folder has neither vocab.json and merges.txt nor tokenizer.json; name a tokenizer")
            }
        }
        try save(tensors, configuration: configuration, tokenizer: tokenizer, layout: .nanoGPT, source: directory.path,
                 described: "a Hugging Face GPT-2")
    }

    func readTokenizer(_ path: String) throws -> Tokenizer {
        guard let data = FileManager.default.contents(atPath: path) else { throw GPTError.fileNotFound(path: path) }
        if data.first == 0x80 { return try characterTokenizer(fromMetaPickle: data, source: path) }  // a pickle
        if let meta = try? JSONDecoder().decode(PreparedData.Meta.self, from: data) { return meta.tokenizer }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["model"] != nil {
            return .bytePair(try BytePairTokenizer(huggingFaceJSON: data, source: path))  // Hugging Face's tokenizer.json
        }
        do { return try JSONDecoder().decode(Tokenizer.self, from: data) } catch {
            throw GPTError.invalidCheckpoint(path: path, reason: "neither a meta.pkl, a meta.json nor a tokenizer.json")
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint for nanoGPT's GPT class, the lecture's gpt.py, Hugging Face transformers or llama.cpp.")

    @Option(help: "A directory written by `gpt train`.") var checkpoint: String
    @Option(help: "nanogpt, lecture, hf (a folder GPT2LMHeadModel.from_pretrained loads) or gguf (llama.cpp's gpt2).")
    var format = "nanogpt"
    @Option(help: "The safetensors file to write (its configuration goes beside it as <name>.json); for hf, a folder; for gguf, the .gguf file.")
    var out: String
    @Option(help: "For gguf: how the weight matrices are stored, f32, f16 or bf16 (norms and biases stay f32).")
    var ggufType = "f32"

    func run() throws {
        try reportingErrors {
            guard let layout = StateDictLayout(rawValue: format) ?? (["hf", "gguf"].contains(format) ? .nanoGPT : nil) else {
                throw GPTError.invalidArgument(name: "--format", reason: "use nanogpt, lecture, hf or gguf, not \(format.prefix(40))")
            }
            guard let type = GGUF.TensorType.allCases.first(where: { $0.name == ggufType.lowercased() }) else {
                throw GPTError.invalidArgument(name: "--gguf-type", reason: "use f32, f16 or bf16, not \(ggufType.prefix(40))")
            }
            let loaded = try Checkpoint.load(from: URL(fileURLWithPath: checkpoint))
            guard let gpt = loaded.model as? GPTLanguageModel else {
                throw GPTError.invalidArgument(name: "--checkpoint", reason: "only a GPT can be exported")
            }
            if format == "hf" { return try exportHuggingFace(gpt, tokenizer: loaded.tokenizer) }
            if format == "gguf" { return try exportGGUF(gpt, tokenizer: loaded.tokenizer, type: type) }
            let tensors = try layout.exportTensors(gpt)
            let url = URL(fileURLWithPath: out)
            let named = tensors.keys.sorted().map { ($0, Tensor(shape: tensors[$0]!.shape, values: tensors[$0]!.values)) }
            try SafeTensors.write(named.map { (name: $0.0, tensor: $0.1) }, metadata: ["format": "pt"], to: url)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let configURL = url.deletingPathExtension().appendingPathExtension("json")
            let full = try encoder.encode(gpt.configuration)
            guard layout == .nanoGPT else {
                try writeAtomically(full, to: configURL)
                print("wrote \(out) (\(named.count) tensors, \(layout.rawValue) names) and \(configURL.path)")
                return
            }
            // nanoGPT's GPTConfig(**json) takes exactly its own fields; the rest goes beside it.
            let c = gpt.configuration
            let nanoGPT: [String: Any] = ["block_size": c.blockSize, "vocab_size": c.vocabSize, "n_layer": c.layerCount,
                                          "n_head": c.headCount, "n_embd": c.embeddingSize, "dropout": Double(c.dropout),
                                          "bias": c.bias]
            try writeAtomically(try JSONSerialization.data(withJSONObject: nanoGPT, options: [.prettyPrinted, .sortedKeys]),
                                to: configURL)
            let fullURL = url.deletingPathExtension().appendingPathExtension("swift-gpt.json")
            try writeAtomically(full, to: fullURL)
            print("wrote \(out) (\(named.count) tensors, nanoGPT names), \(configURL.path) (GPTConfig(**json)) and "
                + fullURL.path)
        }
    }

    /// A folder with transformers' `config.json` and `model.safetensors`, and this tool's tokenizer beside them.
    func exportHuggingFace(_ model: GPTLanguageModel, tokenizer: Tokenizer) throws {
        let (config, tensors) = try HuggingFaceGPT2.export(model)
        let directory = URL(fileURLWithPath: out)
        try SafeTensors.write(tensors.map { (name: $0.name, tensor: Tensor(shape: $0.shape, values: $0.values)) },
                              metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
        try writeAtomically(try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]),
                            to: directory.appendingPathComponent("config.json"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(tokenizer), to: directory.appendingPathComponent("tokenizer.swift-gpt.json"))
        var tokenizerNote = "the tokenizer as tokenizer.swift-gpt.json (Hugging Face files only for byte-level BPE)"
        if case .bytePair(let bpe) = tokenizer {
            // GPT-2's tokenizer files: GPT2Tokenizer(Fast).from_pretrained reads them, with the same ids.
            let files = try bpe.gpt2Files()
            try writeAtomically(files.vocabulary, to: directory.appendingPathComponent("vocab.json"))
            try writeAtomically(Data(files.merges.utf8), to: directory.appendingPathComponent("merges.txt"))
            try writeAtomically(try bpe.huggingFaceJSON(), to: directory.appendingPathComponent("tokenizer.json"))
            tokenizerNote = "vocab.json, merges.txt (GPT-2's tokenizer files) and tokenizer.json (Hugging Face's)"
        }
        print("wrote \(out): config.json and model.safetensors (\(tensors.count) tensors) for GPT2LMHeadModel.from_pretrained, "
            + tokenizerNote)
    }

    /// One `.gguf` file that llama.cpp (and everything built on it) runs as its `gpt2` architecture.
    func exportGGUF(_ model: GPTLanguageModel, tokenizer: Tokenizer, type: GGUF.TensorType) throws {
        let (metadata, tensors) = try LlamaCppGPT2.export(model, tokenizer: tokenizer, type: type)
        if let note = LlamaCppGPT2.approximation(model) { printError("note: " + note) }
        try GGUF.write(metadata: metadata, tensors: tensors, to: URL(fileURLWithPath: out))
        print("wrote \(out): GGUF for llama.cpp's gpt2 (\(tensors.count) tensors, weights \(type.name))")
    }
}
