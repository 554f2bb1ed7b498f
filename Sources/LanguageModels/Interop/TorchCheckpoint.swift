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
        guard let pickle = try archive.entry("data.pkl") else { throw fail("no data.pkl: not a torch.save file") }
        let root = try RestrictedPickle.read(pickle, source: source)
        // nanoGPT's checkpoint is a dict with "model"; a bare state dict is accepted too.
        let stateDict = root["model"] ?? root
        guard case .dict(let items) = stateDict else { throw fail("no state dict (a dict of tensors) in data.pkl") }
        // Every tensor is checked against its storage, and all of them against the file's size, before any is
        // decoded; each storage is read (and its CRC-32 checked) once, however many tensors view it.
        var storages: [String: Data] = [:], views: [(name: String, view: StorageView)] = [], total = 0
        for (key, value) in items {
            guard var name = key.string,
                  case .tensor(let storage, let type, let storageCount, let offset, let shape, let strides) = value else { continue }
            if name.hasPrefix("_orig_mod.") { name.removeFirst("_orig_mod.".count) }
            if storages[storage] == nil {
                guard let bytes = try archive.entry("data/\(storage)") else {
                    throw fail("storage \(storage.prefix(40)) of \(name.prefix(100)) is missing")
                }
                storages[storage] = bytes
            }
            let view = try StorageView(type: type, storage: storage, bytes: storages[storage]!, declaredCount: storageCount,
                                       offset: offset, shape: shape, strides: strides, name: name, source: source)
            // Tied weights (nanoGPT's wte and lm_head) view one storage twice; a file that repeats a storage over
            // and over, to decode to far more than it holds, is refused. (Each count is at most the file's size,
            // so the sum, checked at every step, cannot overflow.)
            total += view.count
            guard total <= data.count else {
                throw fail("the tensors hold more elements than the file has bytes (views that repeat a storage)")
            }
            views.append((name, view))
        }
        var tensors: StateDict = [:]
        for (name, view) in views { tensors[name] = (view.shape, view.values(storages[view.storage]!)) }
        guard !tensors.isEmpty else { throw fail("the state dict holds no tensors") }
        self.tensors = tensors
        modelArguments = root["model_args"]
        iteration = root["iter_num"]?.int
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

/// A tensor's place in a storage (element offset, shape and strides), checked against the storage's bytes with
/// checked arithmetic on every integer: the furthest element lies inside the storage, and the tensor holds no more
/// elements than the storage from its offset (a view that repeats elements, as a stride-0 expansion does, is not a
/// weight, and would decode to more than the file holds).
struct StorageView {
    let storage: String, offset: Int, shape: [Int], strides: [Int], count: Int
    let decode: (UnsafeRawBufferPointer, Int) -> Float
    /// PyTorch's own limit on a tensor's dimensions.
    static let maximumDimensions = 64

    init(type: String, storage: String, bytes: Data, declaredCount: Int, offset: Int, shape: [Int], strides: [Int],
         name: String, source: String) throws {
        func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: source, reason: "tensor \(name.prefix(100)) \(reason)") }
        let width: Int
        switch type {
        case "torch.FloatStorage": (width, decode) = (4, { Float(bitPattern: $0.loadUnaligned(fromByteOffset: $1 * 4, as: UInt32.self)) })
        case "torch.HalfStorage": (width, decode) = (2, { Float(Float16(bitPattern: $0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self))) })
        case "torch.BFloat16Storage":
            (width, decode) = (2, { Float(bitPattern: UInt32($0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self)) << 16) })
        default: throw fail("is stored as \(type.prefix(40)), not a float type")
        }
        let declaredBytes = declaredCount.multipliedReportingOverflow(by: width)
        guard declaredCount >= 0, !declaredBytes.overflow, declaredBytes.partialValue == bytes.count else {
            throw fail("views storage \(storage.prefix(40)) of \(bytes.count) bytes, which its record says holds \(declaredCount) elements")
        }
        guard shape.count <= Self.maximumDimensions else { throw fail("has \(shape.count) dimensions (at most \(Self.maximumDimensions))") }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), strides.count == shape.count else {
            throw fail("has a negative size, stride or offset, or not one stride per dimension")
        }
        var count = 1, last = offset
        for (size, stride) in zip(shape, strides) {
            let product = count.multipliedReportingOverflow(by: size)
            guard !product.overflow else { throw fail("has more elements than any storage holds") }
            count = product.partialValue
            guard size > 0 else { continue }
            let reach = (size - 1).multipliedReportingOverflow(by: stride)
            let sum = last.addingReportingOverflow(reach.partialValue)
            guard !reach.overflow, !sum.overflow else { throw fail("reaches past its storage") }
            last = sum.partialValue
        }
        let elements = bytes.count / width
        if count > 0 {
            guard last < elements else { throw fail("reaches past its storage") }
            guard count <= elements - offset else {
                throw fail("repeats elements of its storage (an expanded view): \(count) elements from \(elements - offset)")
            }
        }
        (self.storage, self.offset, self.shape, self.strides, self.count) = (storage, offset, shape, strides, count)
    }

    /// The elements in row-major order: each row (the last axis) in a loop, the other axes walked as an odometer
    /// that moves the storage position by one stride (or back over a whole axis) at a time.
    func values(_ bytes: Data) -> [Float] {
        guard count > 0 else { return [] }
        let rowLength = shape.last ?? 1, rowStride = strides.last ?? 0, outer = Array(shape.dropLast()), outerStrides = Array(strides.dropLast())
        return bytes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { out, initialized in
                var index = [Int](repeating: 0, count: outer.count)
                var start = offset
                for row in 0..<(count / rowLength) {
                    for j in 0..<rowLength { out[row * rowLength + j] = decode(raw, start + j * rowStride) }
                    // The next row. After the last one the walk steps once past the storage, which wrapping
                    // arithmetic allows (every position read lies inside, as checked above).
                    var axis = outer.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        start &+= outerStrides[axis]
                        if index[axis] < outer[axis] { break }
                        start &-= outer[axis] &* outerStrides[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
                initialized = count
            }
        }
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
