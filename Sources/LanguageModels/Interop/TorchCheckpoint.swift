import Foundation

/// A PyTorch checkpoint as nanoGPT's `train.py` saves it (`ckpt.pt`: a ZIP of `data.pkl` and one entry per tensor
/// storage), read without Python and without running anything in it (``RestrictedPickle``).
public struct TorchCheckpoint {
    /// The model's state dict (the `_orig_mod.` prefix of a `torch.compile`d model removed), as fp32.
    public let tensors: StateDict
    /// `model_args` (`n_layer`, `n_head`, `n_embd`, `block_size`, `bias`, `vocab_size`, `dropout`), if present.
    public let modelArguments: PickleValue?
    /// `iter_num`, if present.
    public let iteration: Int?

    /// Whether `url`'s file starts as a ZIP archive does (a `torch.save` file).
    public static func isTorchFile(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url), let head = try? handle.read(upToCount: 4) else { return false }
        return head == Data([0x50, 0x4B, 0x03, 0x04])
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw GPTError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data, source: url.path)
    }

    public init(data: Data, source: String) throws {
        func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: source, reason: reason) }
        let archive = try ZipArchive(data: data, source: source)
        guard let pickle = archive.entry(endingWith: "/data.pkl") else { throw fail("no data.pkl: not a torch.save file") }
        let root = try RestrictedPickle.read(pickle, source: source)
        // nanoGPT's checkpoint is a dict with "model"; a bare state dict is accepted too.
        let stateDict = root["model"] ?? root
        guard case .dict(let items) = stateDict else { throw fail("no state dict (a dict of tensors) in data.pkl") }
        var tensors: StateDict = [:]
        for (key, value) in items {
            guard var name = key.string, case .tensor(let storage, let type, let offset, let shape, let strides) = value else { continue }
            if name.hasPrefix("_orig_mod.") { name.removeFirst("_orig_mod.".count) }
            guard let bytes = archive.entry(endingWith: "/data/\(storage)") else { throw fail("storage \(storage) of \(name) is missing") }
            tensors[name] = (shape, try Self.values(bytes, type: type, offset: offset, shape: shape, strides: strides, name: name, source: source))
        }
        guard !tensors.isEmpty else { throw fail("the state dict holds no tensors") }
        self.tensors = tensors
        modelArguments = root["model_args"]
        iteration = root["iter_num"]?.int
    }

    /// A tensor's elements, in row-major order, from its storage's little-endian bytes.
    static func values(_ bytes: Data, type: String, offset: Int, shape: [Int], strides: [Int], name: String,
                       source: String) throws -> [Float] {
        let width: Int, decode: (UnsafeRawBufferPointer, Int) -> Float
        switch type {
        case "torch.FloatStorage": (width, decode) = (4, { Float(bitPattern: $0.loadUnaligned(fromByteOffset: $1 * 4, as: UInt32.self)) })
        case "torch.HalfStorage": (width, decode) = (2, { Float(Float16(bitPattern: $0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self))) })
        case "torch.BFloat16Storage":
            (width, decode) = (2, { Float(bitPattern: UInt32($0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self)) << 16) })
        default:
            throw GPTError.invalidCheckpoint(path: source, reason: "tensor \(name.prefix(100)) is stored as \(type), not a float type")
        }
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let elements = bytes.count / width
        // The furthest element the strides reach must lie inside the storage.
        let last = zip(shape, strides).reduce(offset) { $0 + ($1.0 > 0 ? ($1.0 - 1) * $1.1 : 0) }
        guard count < Int.max, strides.allSatisfy({ $0 >= 0 }), count == 0 || last < elements else {
            throw GPTError.invalidCheckpoint(path: source, reason: "tensor \(name.prefix(100)) reaches past its storage")
        }
        return bytes.withUnsafeBytes { raw in
            var out = [Float](repeating: 0, count: count)
            var index = [Int](repeating: 0, count: shape.count)
            for i in 0..<count {
                var element = offset
                for axis in shape.indices { element += index[axis] * strides[axis] }
                out[i] = decode(raw, element)
                var axis = shape.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    if index[axis] < shape[axis] { break }
                    index[axis] = 0
                    axis -= 1
                }
            }
            return out
        }
    }

    /// The model configuration `model_args` describes (nanoGPT's GPT: exact GELU, tied head, no head bias).
    public func configuration(source: String) throws -> ModelConfiguration {
        guard let arguments = modelArguments else {
            throw GPTError.invalidCheckpoint(path: source, reason: "no model_args in the checkpoint: give --config")
        }
        func number(_ key: String) throws -> Int {
            guard let value = arguments[key]?.int else {
                throw GPTError.invalidCheckpoint(path: source, reason: "model_args has no integer \(key)")
            }
            return value
        }
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: try number("vocab_size"), blockSize: try number("block_size"))
        (configuration.layerCount, configuration.headCount, configuration.embeddingSize) =
            (try number("n_layer"), try number("n_head"), try number("n_embd"))
        if case .float(let dropout)? = arguments["dropout"] { configuration.dropout = Float(dropout) }
        ModelLayout.nanoGPT.apply(to: &configuration)
        let bias = arguments["bias"]?.int.map { $0 != 0 } ?? true
        (configuration.bias, configuration.attentionBias) = (bias, bias)
        return configuration
    }
}

/// nanoGPT's `meta.pkl` (from its prepare.py): `vocab_size`, `stoi` and `itos`, read as a character tokenizer.
public func characterTokenizer(fromMetaPickle data: Data, source: String) throws -> Tokenizer {
    let root = try RestrictedPickle.read(data, source: source)
    guard case .dict(let entries)? = root["itos"] else {
        throw GPTError.invalidCheckpoint(path: source, reason: "meta.pkl has no itos (only character-level meta.pkl files are read)")
    }
    var scalars: [Int: Unicode.Scalar] = [:]
    for (key, value) in entries {
        guard let id = key.int, let text = value.string, text.unicodeScalars.count == 1, (0..<entries.count).contains(id) else {
            throw GPTError.invalidCheckpoint(path: source, reason: "meta.pkl's itos maps ids 0..<\(entries.count) to single characters")
        }
        scalars[id] = text.unicodeScalars.first!
    }
    guard scalars.count == entries.count, Set(scalars.values).count == scalars.count else {
        throw GPTError.invalidCheckpoint(path: source, reason: "meta.pkl's itos repeats an id or a character")
    }
    return .character(CharacterTokenizer(vocabulary: (0..<entries.count).map { scalars[$0]! }))
}

/// `tensors` with only the first `count` rows of the token embedding, the head and the head's bias: a vocabulary
/// padded past its tokenizer's tokens cut back (the kept rows' logits are unchanged).
public func croppingVocabulary(_ tensors: StateDict, to count: Int) -> StateDict {
    var result = tensors
    for name in ["transformer.wte.weight", "lm_head.weight", "token_embedding_table.weight", "lm_head.bias"] {
        guard let tensor = tensors[name], let rows = tensor.shape.first, rows > count else { continue }
        let width = tensor.values.count / rows
        result[name] = ([count] + tensor.shape.dropFirst(), Array(tensor.values.prefix(count * width)))
    }
    return result
}
