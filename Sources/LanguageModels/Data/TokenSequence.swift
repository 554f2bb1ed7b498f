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

    /// Tokenizes `text` and writes the folder (90/10 split, as the lecture).
    public static func write(text: String, tokenizer: Tokenizer, to directory: URL) throws -> (train: Int, validation: Int) {
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
        try writeAtomically(bytes(tokens[..<cut]), to: directory.appendingPathComponent("train.bin"))
        try writeAtomically(bytes(tokens[cut...]), to: directory.appendingPathComponent("val.bin"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let meta = Meta(vocabSize: tokenizer.vocabularySize, dtype: wide ? "uint32" : "uint16", tokenizer: tokenizer)
        try writeAtomically(try encoder.encode(meta), to: directory.appendingPathComponent("meta.json"))
        // nanoGPT's train.py reads vocab_size from meta.pkl (without it, it silently trains a 50,304-token model);
        // its sample.py also reads a character model's stoi and itos.
        try writeAtomically(metaPickle(tokenizer), to: directory.appendingPathComponent("meta.pkl"))
        return (cut, tokens.count - cut)
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
