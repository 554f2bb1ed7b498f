import Foundation
import NN
import TensorModule

/// A saved model: a directory with `model.safetensors` (weights by state-dict name), `config.json`
/// (``ModelConfiguration``) and `tokenizer.json` (``Tokenizer``, in Hugging Face's format). Every file is written atomically.
public struct Checkpoint {
    public static let weightsFile = "model.safetensors"
    public static let configurationFile = "config.json"
    public static let tokenizerFile = "tokenizer.json"

    /// Files kept beside the model as an import found them, by name (one of ``companionFileNames``): the chat
    /// template and the tokenizer's special tokens of a Hugging Face folder. Saved and loaded with the checkpoint.
    public var companionFiles: [String: Data] = [:]
    /// The files a checkpoint keeps as they came: `chat_template.jinja` (a Jinja chat template),
    /// `tokenizer_config.json` (bos, eos and the other special tokens), `special_tokens_map.json`, `generation_config.json`.
    /// The Hugging Face `model_type` the model was imported as (`llama`, `qwen2`, `gpt2`...), when it was; export
    /// writes it back as that family when the family still holds it. Not saved with the checkpoint.
    public var family: String?
    public static let companionFileNames = ["chat_template.jinja", "tokenizer_config.json", "special_tokens_map.json",
                                            "generation_config.json"]

    public let model: any LanguageModel
    public let tokenizer: Tokenizer

    public init(model: any LanguageModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Writes the three files into `directory`, creating it if needed, so that the directory never holds a mix of
    /// old and new files: they are written into a staging directory first, and `config.json`, whose presence
    /// marks a complete model, is taken away before the others are renamed in and put back last. A directory
    /// caught half-way has no `config.json`, and ``load(from:)`` falls back to its `latest/` save.
    public func save(to directory: URL) throws {
        var steps = SaveSequence()
        try save(to: directory, steps: &steps)
    }

    func save(to directory: URL, steps: inout SaveSequence) throws {
        let manager = FileManager.default
        let exists = manager.fileExists(atPath: directory.path)
        let staging = exists
            ? directory.appendingPathComponent(".model\(SaveSequence.stagingMarker)\(UUID().uuidString)")
            : directory.deletingLastPathComponent()
                .appendingPathComponent(".\(directory.lastPathComponent)\(SaveSequence.stagingMarker)\(UUID().uuidString)")
        do {
            try writeFiles(into: staging, steps: &steps)
            if !exists {
                try steps.step { try manager.moveItem(at: staging, to: directory) }
                return
            }
            let marker = directory.appendingPathComponent(Self.configurationFile)
            try steps.step { if manager.fileExists(atPath: marker.path) { try manager.removeItem(at: marker) } }
            for file in companionFiles.keys.sorted() + [Self.tokenizerFile, Self.weightsFile, Self.configurationFile] {
                try steps.step {
                    if rename(staging.appendingPathComponent(file).path, directory.appendingPathComponent(file).path) != 0 {
                        throw GPTError.unwritableFile(path: directory.appendingPathComponent(file).path,
                                                      reason: "could not rename the new file into place")
                    }
                }
            }
            try steps.step { try? manager.removeItem(at: staging) }
        } catch is SaveInterrupted {
            throw SaveInterrupted()
        } catch {
            try? manager.removeItem(at: staging)
            if let known = error as? GPTError { throw known }
            throw GPTError.unwritableFile(path: directory.path, reason: error.localizedDescription)
        }
    }

    /// Writes `tokenizer.json`, `model.safetensors` and `config.json` (in that order) into `directory`.
    func writeFiles(into directory: URL, steps: inout SaveSequence) throws {
        let tokenizerData = tokenizer.huggingFaceJSON(), configurationData = try Self.json(model.configuration)
        for (name, data) in companionFiles.sorted(by: { $0.key < $1.key }) where Self.companionFileNames.contains(name) {
            try steps.step { try writeAtomically(data, to: directory.appendingPathComponent(name)) }
        }
        try steps.step { try writeAtomically(tokenizerData, to: directory.appendingPathComponent(Self.tokenizerFile)) }
        try steps.step {
            try SafeTensors.write(model.namedParameters(), metadata: ["format": "pt"],
                                  to: directory.appendingPathComponent(Self.weightsFile))
        }
        try steps.step { try writeAtomically(configurationData, to: directory.appendingPathComponent(Self.configurationFile)) }
    }

    /// Loads a checkpoint directory, checking that every file is present and fits the others. A run directory
    /// whose training was stopped before the end (no final model yet) loads its last save, `latest/`.
    public static func load(from directory: URL) throws -> Checkpoint {
        var directory = directory
        if !FileManager.default.fileExists(atPath: directory.appendingPathComponent(configurationFile).path),
           let latest = TrainingCheckpoint.locate(directory) {
            directory = latest
        }
        let path = directory.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GPTError.invalidCheckpoint(path: path, reason: "no such directory (train one with `gpt train --out \(path)`)")
        }
        let configuration: ModelConfiguration = try decodeJSON(directory.appendingPathComponent(configurationFile))
        try configuration.validate()
        let tokenizer = try Tokenizer(contentsOf: directory.appendingPathComponent(tokenizerFile))
        guard tokenizer.vocabularySize == configuration.vocabSize else {
            throw GPTError.invalidCheckpoint(path: path, reason:
                "tokenizer.json has \(tokenizer.vocabularySize) tokens but the model's vocab_size is \(configuration.vocabSize)")
        }
        let weights = try SafeTensors.read(directory.appendingPathComponent(weightsFile))
        // Before building a model of that shape: the file must hold as many numbers as the configuration needs.
        let stored = weights.tensors.values.reduce(0) { $0 + $1.values.count }, needed = try configuration.parameterCount()
        guard stored == needed else {
            throw GPTError.invalidCheckpoint(path: path, reason:
                "model.safetensors holds \(stored) numbers but config.json describes a model of \(needed) parameters")
        }
        var generator = SeededGenerator.forLoading
        let model = try makeModel(configuration, generator: &generator)
        try model.loadWeights(weights.tensors, source: directory.appendingPathComponent(weightsFile).path)
        try requireFiniteForward(model, source: path)
        var checkpoint = Checkpoint(model: model, tokenizer: tokenizer)
        for name in companionFileNames {
            checkpoint.companionFiles[name] = try boundedContents(of: directory.appendingPathComponent(name), limit: 1 << 24)
        }
        return checkpoint
    }

    /// `value` as this package writes JSON files: indented, keys sorted.
    public static func json(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }

    static func decodeJSON<Value: Decodable>(_ url: URL) throws -> Value {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw GPTError.invalidCheckpoint(path: url.deletingLastPathComponent().path,
                                             reason: "\(url.lastPathComponent) is missing or unreadable")
        }
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch {
            throw GPTError.invalidCheckpoint(path: url.path, reason: "malformed JSON (\(describeDecodingError(error)))")
        }
    }
}

/// A one-line account of a `DecodingError`.
func describeDecodingError(_ error: Error) -> String {
    switch error as? DecodingError {
    case .keyNotFound(let key, let context): "missing key " + (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        (context.codingPath.map(\.stringValue).joined(separator: ".") + " " + context.debugDescription)
            .trimmingCharacters(in: .whitespaces)
    default: "\(error)"
    }
}

/// A freshly initialised model of the configured type.
public func makeModel(_ configuration: ModelConfiguration, generator: inout SeededGenerator) throws -> any LanguageModel {
    try configuration.validate()
    switch configuration.modelType {
    case .bigram:
        return BigramLanguageModel(vocabSize: configuration.vocabSize, blockSize: configuration.blockSize,
                                   generator: &generator)
    case .gpt:
        return GPTLanguageModel(configuration, generator: &generator)
    }
}

extension Module {
    /// Copies weights by state-dict name into the parameters, refusing a missing, extra or misshapen tensor and
    /// any value that is not finite (NaN, ±Inf), naming the tensor.
    public func loadWeights(_ tensors: [String: (shape: [Int], values: [Float])], source: String) throws {
        let named = namedParameters()
        let expected = Set(named.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw GPTError.invalidCheckpoint(path: source, reason: "tensor \(extra.prefix(200)) does not belong to this configuration")
        }
        for (name, parameter) in named {
            guard let stored = tensors[name] else {
                throw GPTError.invalidCheckpoint(path: source, reason: "tensor \(name) is missing")
            }
            guard stored.shape == parameter.shape else {
                throw GPTError.invalidCheckpoint(path: source, reason:
                    "tensor \(name) has shape \(stored.shape) but the configuration needs \(parameter.shape)")
            }
            try requireFinite(stored.values, name: name, source: source)
        }
        for (name, parameter) in named {
            tensors[name]!.values.withUnsafeBufferPointer {
                parameter.storage.pointer.update(from: $0.baseAddress!, count: $0.count)
            }
        }
    }
}

/// Throws naming the tensor and the first index whose value is NaN or infinite.
/// Throws when `model`'s forward pass over a few tokens gives a logit that is not finite: finite weights can still
/// overflow (3e38 in a product), and such a model would answer every request with nothing. Checked once at load.
func requireFiniteForward(_ model: any LanguageModel, source: String) throws {
    let c = model.configuration
    let probe = (0..<min(8, c.blockSize)).map { $0 % c.vocabSize }
    let logits = withoutGradient { model.forward(probe).logits }
    if let index = logits.values.firstIndex(where: { !$0.isFinite }) {
        throw GPTError.invalidCheckpoint(path: source, reason: "the model's forward pass gives a logit of "
            + "\(logits.values[index]) from finite weights: some weights are so large that their products overflow")
    }
}

func requireFinite(_ values: [Float], name: String, source: String) throws {
    if let index = values.firstIndex(where: { !$0.isFinite }) {
        throw GPTError.invalidCheckpoint(path: source, reason:
            "tensor \(name) holds \(values[index]) at index \(index): the weights are damaged (a run that diverged?)")
    }
}
