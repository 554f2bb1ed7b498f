import Foundation
import NN
import TensorModule

/// A saved model: a directory with `model.safetensors` (weights by state-dict name), `config.json`
/// (``ModelConfiguration``) and `tokenizer.json` (``Tokenizer``). Every file is written atomically.
public struct Checkpoint {
    public static let weightsFile = "model.safetensors"
    public static let configurationFile = "config.json"
    public static let tokenizerFile = "tokenizer.json"

    public let model: any LanguageModel
    public let tokenizer: Tokenizer

    public init(model: any LanguageModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Writes the three files into `directory`, creating it if needed.
    public func save(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(model.configuration), to: directory.appendingPathComponent(Self.configurationFile))
        try writeAtomically(try encoder.encode(tokenizer), to: directory.appendingPathComponent(Self.tokenizerFile))
        try SafeTensors.write(model.namedParameters(), metadata: ["format": "pt"],
                              to: directory.appendingPathComponent(Self.weightsFile))
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
        let tokenizer: Tokenizer = try decodeJSON(directory.appendingPathComponent(tokenizerFile))
        guard tokenizer.vocabularySize == configuration.vocabSize else {
            throw GPTError.invalidCheckpoint(path: path, reason:
                "tokenizer.json has \(tokenizer.vocabularySize) tokens but the model's vocab_size is \(configuration.vocabSize)")
        }
        let weights = try SafeTensors.read(directory.appendingPathComponent(weightsFile))
        var generator = SeededGenerator(seed: 0)
        let model = try makeModel(configuration, generator: &generator)
        try model.loadWeights(weights.tensors, source: directory.appendingPathComponent(weightsFile).path)
        return Checkpoint(model: model, tokenizer: tokenizer)
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
    case .keyNotFound(let key, _): "missing key \(key.stringValue)"
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
    /// Copies weights by state-dict name into the parameters, refusing a missing, extra or misshapen tensor.
    public func loadWeights(_ tensors: [String: (shape: [Int], values: [Float])], source: String) throws {
        let named = namedParameters()
        for (name, parameter) in named {
            guard let stored = tensors[name] else {
                throw GPTError.invalidCheckpoint(path: source, reason: "tensor \(name) is missing")
            }
            guard stored.shape == parameter.shape else {
                throw GPTError.invalidCheckpoint(path: source, reason:
                    "tensor \(name) has shape \(stored.shape) but the configuration needs \(parameter.shape)")
            }
            stored.values.withUnsafeBufferPointer { parameter.storage.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
        let expected = Set(named.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw GPTError.invalidCheckpoint(path: source, reason: "tensor \(extra) does not belong to this configuration")
        }
    }
}
