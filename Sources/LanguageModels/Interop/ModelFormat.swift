import Foundation

/// A door between this package's checkpoint and another tool's files: recognise a path, read it into a
/// ``Checkpoint``, check whether a model can be written, write it. A new format is one type conforming to this and
/// one line in ``ModelFormats/all``.
///
/// Every format that writes also reads what it wrote with nothing else given: the configuration and tokenizer go
/// beside the weights.
public protocol ModelFormat: Sendable {
    /// The name `gpt import --from` and `gpt export --format` use.
    var name: String { get }
    /// What the format is, for help and messages.
    var summary: String { get }
    /// Whether `url` holds this format. Reads at most a small header, and only of a regular file or a folder.
    func recognizes(_ url: URL) -> Bool
    /// The model and tokenizer at `url`; `tokenizer` and `configuration` name files that override what is beside it.
    func read(_ url: URL, tokenizer: URL?, configuration: URL?) throws -> Checkpoint
    /// Throws naming every field of `model` the format cannot hold, or returns a note when it holds an approximation.
    func check(_ model: GPTLanguageModel) throws -> String?
    /// Writes `checkpoint` at `url`; returns what was written, for a person.
    func write(_ checkpoint: Checkpoint, to url: URL, options: ExportOptions) throws -> String
}

/// Choices of an export that some formats have.
public struct ExportOptions: Sendable {
    /// How GGUF stores the weight matrices.
    public var ggufType = GGUF.TensorType.f32
    public init() {}
}

extension ModelFormat {
    public func read(_ url: URL, tokenizer: URL?, configuration: URL?) throws -> Checkpoint {
        throw GPTError.invalidArgument(name: url.path, reason: "\(summary) cannot be read yet, only written")
    }
}

/// The registered formats.
public enum ModelFormats {
    public static let all: [any ModelFormat] = [
        StateDictFormat(layout: .nanoGPT), StateDictFormat(layout: .lecture), NanoGPTCheckpointFormat(),
        HuggingFaceFormat(), GGUFFormat(),
    ]

    /// The format called `name`.
    public static func named(_ name: String) throws -> any ModelFormat {
        guard let format = all.first(where: { $0.name == name.lowercased() }) else {
            throw GPTError.invalidArgument(name: "--format", reason:
                "use \(all.map(\.name).joined(separator: ", ")), not \(String(name.prefix(40)).debugDescription)")
        }
        return format
    }

    /// The format of what is at `url`: only a regular file or a folder is opened (never a FIFO or a device).
    public static func detect(_ url: URL) throws -> any ModelFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw GPTError.fileNotFound(path: url.path)
        }
        if !isDirectory.boolValue {
            let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType
            guard type == .typeRegular else {
                throw GPTError.unreadableFile(path: url.path, reason: "it is not a regular file (a device, a FIFO or a socket)")
            }
        }
        guard let format = all.first(where: { $0.recognizes(url) }) else {
            throw GPTError.unreadableFile(path: url.path, reason: "it is none of the formats this tool reads: "
                + all.map(\.summary).joined(separator: "; "))
        }
        return format
    }

    /// The first bytes of a regular file (empty for anything else).
    static func header(_ url: URL, count: Int) -> Data {
        let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType
        guard type == .typeRegular, let handle = try? FileHandle(forReadingFrom: url) else { return Data() }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: count)) ?? Data()
    }

    /// A model built from `tensors` under this package's names: a vocabulary padded past the tokenizer's (nanoGPT
    /// pads GPT-2's 50,257 to 50,304) is cut to the tokenizer's, the configuration is validated, and the tensors must
    /// be exactly the model's.
    static func assemble(_ tensors: StateDict, configuration: ModelConfiguration, tokenizer: Tokenizer,
                         source: String) throws -> Checkpoint {
        var (tensors, configuration) = (tensors, configuration)
        if configuration.vocabSize > tokenizer.vocabularySize {
            tensors = croppingVocabulary(tensors, to: tokenizer.vocabularySize)
            configuration.vocabSize = tokenizer.vocabularySize
        }
        try configuration.validate()
        guard tokenizer.vocabularySize == configuration.vocabSize else {
            throw GPTError.invalidCheckpoint(path: source, reason:
                "the tokenizer has \(tokenizer.vocabularySize) tokens but vocab_size is \(configuration.vocabSize)")
        }
        // Before building a model of that shape: the weights must hold as many numbers as the configuration needs,
        // so an absurd configuration fails here instead of allocating its model first.
        let stored = tensors.values.reduce(0) { $0 + $1.values.count }, needed = try configuration.parameterCount()
        guard stored == needed else {
            throw GPTError.invalidCheckpoint(path: source, reason:
                "the weights hold \(stored) numbers but the configuration describes a model of \(needed) parameters")
        }
        var generator = SeededGenerator.forLoading
        let model = GPTLanguageModel(configuration, generator: &generator)
        try model.loadWeights(tensors, source: source)
        try requireFiniteForward(model, source: source)
        return Checkpoint(model: model, tokenizer: tokenizer)
    }

    /// The tokenizer in `explicit`, else in the first of `beside` that exists; throws naming what was looked for.
    static func tokenizer(_ explicit: URL?, beside candidates: [URL], for source: String) throws -> Tokenizer {
        if let explicit { return try Tokenizer.read(from: explicit) }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw GPTError.invalidCheckpoint(path: source, reason: "no tokenizer beside it ("
                + candidates.map(\.lastPathComponent).joined(separator: ", ") + "); name one with --vocab")
        }
        return try Tokenizer.read(from: found)
    }
}

extension Tokenizer {
    /// A tokenizer file of any kind this tool reads: nanoGPT's `meta.pkl`, a prepared folder's `meta.json`, or a
    /// `tokenizer.json` (Hugging Face's format, or this tool's older one).
    public static func read(from url: URL) throws -> Tokenizer {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else { throw GPTError.fileNotFound(path: path) }
        if data.first == 0x80 { return try characterTokenizer(fromMetaPickle: data, source: path) }  // a pickle
        if let meta = try? JSONDecoder().decode(PreparedData.Meta.self, from: data) { return meta.tokenizer }
        return try Tokenizer(huggingFaceJSON: data, source: path)  // Hugging Face's tokenizer.json, or an older file of ours
    }
}
