import Foundation

/// Token ids, held in memory or read from a memory-mapped file of little-endian `uint16` or `uint32` values
/// (nanoGPT's `train.bin` / `val.bin`), so a corpus larger than memory can be trained on.
public struct TokenSequence: RandomAccessCollection, Sendable {
    enum Storage: Sendable {
        case array([Int])
        case mapped(Data, width: Int)
    }

    let storage: Storage
    public let startIndex = 0
    public let endIndex: Int

    public init(_ tokens: [Int]) {
        storage = .array(tokens)
        endIndex = tokens.count
    }

    /// Maps a file of `width`-byte token ids (2 or 4).
    public init(mapping url: URL, width: Int) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw GPTError.fileNotFound(path: url.path) }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw GPTError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        guard data.count % width == 0 else {
            throw GPTError.unreadableFile(path: url.path, reason: "its size \(data.count) is not a multiple of \(width) bytes")
        }
        storage = .mapped(data, width: width)
        endIndex = data.count / width
    }

    public subscript(position: Int) -> Int {
        switch storage {
        case .array(let tokens): tokens[position]
        case .mapped(let data, let width):
            data.withUnsafeBytes { raw in
                width == 2 ? Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: position * 2, as: UInt16.self)))
                    : Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: position * 4, as: UInt32.self)))
            }
        }
    }

    /// The largest id, for checking a file against a vocabulary (reads the whole sequence).
    public func maximum() -> Int { reduce(0, Swift.max) }
}

/// A folder in nanoGPT's prepared-data format: `train.bin` and `val.bin` (token ids as `uint16`, or `uint32` past
/// 65,535 tokens) and `meta.json` (`vocab_size`, `dtype`, and the ``Tokenizer`` that made them).
public enum PreparedData {
    public struct Meta: Codable {
        public var vocabSize: Int
        public var dtype: String
        public var tokenizer: Tokenizer
        enum CodingKeys: String, CodingKey { case vocabSize = "vocab_size", dtype, tokenizer }
    }

    /// Whether `path` is such a folder, or a nanoGPT data folder (`train.bin`, `val.bin` and its `meta.pkl`).
    public static func isPrepared(_ path: String) -> Bool {
        let directory = URL(fileURLWithPath: path)
        return ["meta.json", "meta.pkl"].contains { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
    }

    /// The files a prepared folder holds (any others in it are the user's, and stay).
    static let files = ["train.bin", "val.bin", "meta.pkl", "meta.json"]

    /// Tokenizes `text` and writes the folder (90/10 split, as the lecture), as a set: the four files are written
    /// into a hidden sibling directory, which is then swapped in by renames as a run's saves are
    /// (``SaveSequence/swap(_:into:old:carryingOver:)``), and the user's other files in the old folder are moved
    /// into the new one. A kill at any moment leaves the old folder or the new one, each complete, or (between the
    /// two renames) neither in place but both beside it, which ``recover(_:)`` (run by the next write) puts back.
    public static func write(text: String, tokenizer: Tokenizer, to directory: URL) throws -> (train: Int, validation: Int) {
        var steps = SaveSequence()
        return try write(text: text, tokenizer: tokenizer, to: directory, steps: &steps)
    }

    static func write(text: String, tokenizer: Tokenizer, to directory: URL, steps: inout SaveSequence) throws -> (train: Int, validation: Int) {
        let tokens = try tokenizer.encode(text)
        let cut = Int(Double(tokens.count) * 0.9)
        let wide = tokenizer.vocabularySize > 65_536
        func bytes(_ slice: ArraySlice<Int>) -> Data {
            var data = Data(capacity: slice.count * (wide ? 4 : 2))
            for token in slice {
                if wide {
                    withUnsafeBytes(of: UInt32(token).littleEndian) { data.append(contentsOf: $0) }
                } else {
                    withUnsafeBytes(of: UInt16(token).littleEndian) { data.append(contentsOf: $0) }
                }
            }
            return data
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let meta = Meta(vocabSize: tokenizer.vocabularySize, dtype: wide ? "uint32" : "uint16", tokenizer: tokenizer)
        // nanoGPT's train.py reads vocab_size from meta.pkl (without it, it silently trains a 50,304-token model);
        // its sample.py also reads a character model's stoi and itos. meta.json, written last, marks a complete set.
        let contents = [bytes(tokens[..<cut]), bytes(tokens[cut...]), metaPickle(tokenizer), try encoder.encode(meta)]

        let manager = FileManager.default
        let target = directory.standardizedFileURL.resolvingSymlinksInPath().path
        let here = URL(fileURLWithPath: manager.currentDirectoryPath).standardizedFileURL.resolvingSymlinksInPath().path
        if here == target || here.hasPrefix(target.hasSuffix("/") ? target : target + "/") {
            throw GPTError.unwritableFile(path: directory.path, reason: "it is the current folder or holds it, and the folder is "
                                          + "replaced as a whole; give a folder of its own, such as data/")
        }
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw GPTError.unwritableFile(path: directory.path, reason: "it is a file, not a folder")
        }
        recover(directory)
        let (staging, old) = places(directory)
        try SaveSequence.writing(staging, for: directory) {
            for (name, data) in zip(files, contents) {
                try steps.step { try writeAtomically(data, to: staging.appendingPathComponent(name)) }
            }
            try steps.swap(staging, into: directory, old: old) { old, steps in
                for entry in try manager.contentsOfDirectory(atPath: old.path) where !files.contains(entry) {
                    try steps.step { try manager.moveItem(at: old.appendingPathComponent(entry), to: directory.appendingPathComponent(entry)) }
                }
            }
        }
        return (cut, tokens.count - cut)
    }

    /// A write's staging directory (`.<name>.saving-<id>` beside the folder) and the old folder's place while it is
    /// swapped out (`.<name>.prepared-old`).
    static func places(_ directory: URL) -> (staging: URL, old: URL) {
        let parent = directory.deletingLastPathComponent(), name = directory.lastPathComponent
        return (parent.appendingPathComponent(".\(name)\(SaveSequence.stagingMarker)\(UUID().uuidString)"),
                parent.appendingPathComponent(".\(name).prepared-old"))
    }

    /// Puts a folder in order after a write was killed: a folder caught between its two renames is put in place
    /// (the new one, if its staging directory is complete, else the old one); the user's files still in the old
    /// folder are moved into the new one; leftover staging directories and the old folder are removed.
    public static func recover(_ directory: URL) {
        let manager = FileManager.default
        let parent = directory.deletingLastPathComponent(), old = places(directory).old
        let stagings = SaveSequence.stagingDirectories(in: parent, named: directory.lastPathComponent)
        let complete = stagings.filter { manager.fileExists(atPath: $0.appendingPathComponent("meta.json").path) }
        if !manager.fileExists(atPath: directory.path) {
            if let staged = complete.first {
                try? manager.moveItem(at: staged, to: directory)
            } else if manager.fileExists(atPath: old.path) {
                try? manager.moveItem(at: old, to: directory)
            }
        }
        if manager.fileExists(atPath: directory.path), manager.fileExists(atPath: old.path) {
            let userEntries = { ((try? manager.contentsOfDirectory(atPath: old.path)) ?? []).filter { !files.contains($0) } }
            for entry in userEntries() {
                try? manager.moveItem(at: old.appendingPathComponent(entry), to: directory.appendingPathComponent(entry))
            }
            if userEntries().isEmpty { try? manager.removeItem(at: old) }  // never a user's file that could not move
        }
        for leftover in stagings where manager.fileExists(atPath: leftover.path) { try? manager.removeItem(at: leftover) }
    }

    /// Maps a prepared folder as a dataset, with its tokenizer; checks ids against the vocabulary.
    public static func load(_ path: String) throws -> (dataset: TextDataset, tokenizer: Tokenizer) {
        let directory = URL(fileURLWithPath: path)
        let metaJSON = directory.appendingPathComponent("meta.json"), metaPickle = directory.appendingPathComponent("meta.pkl")
        let meta: Meta
        if !FileManager.default.fileExists(atPath: metaJSON.path), let data = FileManager.default.contents(atPath: metaPickle.path) {
            // A folder nanoGPT's prepare.py wrote: uint16 ids, a character vocabulary.
            let tokenizer = try characterTokenizer(fromMetaPickle: data, source: metaPickle.path)
            meta = Meta(vocabSize: tokenizer.vocabularySize, dtype: "uint16", tokenizer: tokenizer)
        } else {
            meta = try Checkpoint.decodeJSON(metaJSON)
        }
        guard meta.tokenizer.vocabularySize == meta.vocabSize, ["uint16", "uint32"].contains(meta.dtype) else {
            throw GPTError.invalidCheckpoint(path: path, reason: "meta.json's vocab_size or dtype does not fit its tokenizer")
        }
        let width = meta.dtype == "uint16" ? 2 : 4
        let train = try TokenSequence(mapping: directory.appendingPathComponent("train.bin"), width: width)
        let validation = try TokenSequence(mapping: directory.appendingPathComponent("val.bin"), width: width)
        for (name, sequence) in [("train.bin", train), ("val.bin", validation)] where sequence.maximum() >= meta.vocabSize {
            throw GPTError.invalidCheckpoint(path: path, reason: "\(name) holds token ids past the vocabulary of \(meta.vocabSize)")
        }
        return (TextDataset(train: train, validation: validation, source: path), meta.tokenizer)
    }
}

/// nanoGPT's `meta.pkl` for `tokenizer`, pickled (protocol 2) as its prepare.py writes it: `vocab_size`, and for a
/// character tokenizer `itos` and `stoi` too.
func metaPickle(_ tokenizer: Tokenizer) -> Data {
    var out: [UInt8] = [0x80, 0x02, 0x7D, 0x28]  // PROTO 2, EMPTY_DICT, MARK
    func string(_ text: String) {
        let utf8 = Array(text.utf8)
        out.append(0x58)  // BINUNICODE
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: utf8)
    }
    func integer(_ value: Int) {
        out.append(0x4A)  // BININT (ids and sizes fit 31 bits)
        withUnsafeBytes(of: Int32(value).littleEndian) { out.append(contentsOf: $0) }
    }
    string("vocab_size")
    integer(tokenizer.vocabularySize)
    if case .character(let characters) = tokenizer {
        string("itos")
        out += [0x7D, 0x28]
        for (id, scalar) in characters.vocabulary.enumerated() { integer(id); string(String(scalar)) }
        out.append(0x75)  // SETITEMS
        string("stoi")
        out += [0x7D, 0x28]
        for (id, scalar) in characters.vocabulary.enumerated() { string(String(scalar)); integer(id) }
        out.append(0x75)
    }
    out += [0x75, 0x2E]  // SETITEMS, STOP
    return Data(out)
}
