import Foundation

/// `tokenizer.json`: every kind of ``Tokenizer`` in Hugging Face's format, so that Python's
/// `tokenizers.Tokenizer.from_file(path).encode(text).ids` gives this package's ids.
///
/// | kind | Hugging Face model | pre-tokenizer | decoder |
/// |------|--------------------|---------------|---------|
/// | `char` | `BPE`, the characters as vocabulary, no merges | none | `Fuse` |
/// | `word` | `WordLevel` | `Split` with ``Tokenizer/wordSplitPattern`` | `Fuse` |
/// | `bpe` | `BPE` with GPT-2's byte alphabet and merges | `ByteLevel` | `ByteLevel` |
///
/// `tokenizers`' `decode` gives back the text for every kind. Outside the vocabulary, `tokenizers` leaves out a
/// character (as ``Tokenizer/encode(_:skippingUnknown:)`` with `true`) and refuses a word (as ``Tokenizer/encode(_:)``).
///
/// The structure says the kind: a BPE without a pre-tokenizer is a character tokenizer. Files of the older
/// `{"kind": "char", "vocabulary": [...]}` format load too. Reading is strict: a missing key, a value of the wrong
/// type, or an option this package would not apply as `tokenizers` does is refused, naming the field.
extension Tokenizer {
    /// The regular expression of the `Split` pre-tokenizer that cuts text as ``WordTokenizer/split(_:)`` does: a
    /// word (letters, digits, marks) or one punctuation mark with the spaces before it, spaces before other
    /// whitespace or at the end, one other whitespace character. Checked scalar by scalar against tokenizers 0.23.3:
    /// the same for every scalar but 4,699 that its regex engine does not know yet (unassigned in Unicode 14), which
    /// are punctuation there and letters here.
    public static let wordSplitPattern =
        #" *[\p{Alphabetic}\p{N}\p{M}]+| *[^\p{White_Space}\p{Alphabetic}\p{N}\p{M}]| +|\p{White_Space}"#

    /// Reads a `tokenizer.json` (Hugging Face's, or this package's older format); `source` names it in errors.
    public init(huggingFaceJSON data: Data, source: String) throws {
        guard data.count <= BytePairTokenizer.maximumFileBytes else {
            throw GPTError.invalidCheckpoint(path: source, reason:
                "the tokenizer file has \(formatBytes(data.count)); at most \(formatBytes(BytePairTokenizer.maximumFileBytes))")
        }
        do {
            try self.init(file: JSONField(OrderedJSON(parsing: data)))
        } catch let error as JSONFieldError {
            throw GPTError.invalidCheckpoint(path: source, reason: "tokenizer file: \(error)")
        }
    }

    /// Reads the `tokenizer.json` at `url`.
    public init(contentsOf url: URL) throws {
        guard let data = try boundedContents(of: url, limit: BytePairTokenizer.maximumFileBytes) else {
            throw GPTError.invalidCheckpoint(path: url.deletingLastPathComponent().path,
                                             reason: "\(url.lastPathComponent) is missing or unreadable")
        }
        try self.init(huggingFaceJSON: data, source: url.path)
    }

    /// This tokenizer as Hugging Face's `tokenizer.json`.
    public func huggingFaceJSON() -> Data { Data(file.text.utf8) }

    init(file: JSONField) throws {
        if let kind = try file.optionalMember("kind") {
            self = try Self.olderFile(file, kind: kind)
            return
        }
        let model = try file.member("model"), type = try model.member("type")
        let normalizer = try file.optionalMember("normalizer")
        switch try type.string() {
        case "WordLevel":
            if let normalizer { throw normalizer.fail("is set; this package applies none to a word tokenizer") }
            self = .word(try WordTokenizer(huggingFace: file))
        case "BPE" where try file.optionalMember("pre_tokenizer") == nil && normalizer == nil:
            self = .character(try CharacterTokenizer(huggingFace: file))
        case "BPE": self = .bytePair(try BytePairTokenizer(huggingFace: file))
        case let other:
            throw type.fail("is \(String(other.prefix(40)).debugDescription); this package reads BPE and WordLevel models, not WordPiece or Unigram")
        }
    }

    /// The `tokenizer.json` object.
    var file: OrderedJSON {
        switch self {
        case .character(let tokenizer): tokenizer.huggingFaceFile
        case .word(let tokenizer): tokenizer.huggingFaceFile
        case .bytePair(let tokenizer): tokenizer.huggingFaceFile
        }
    }

    /// The older format: `{"kind": "char"|"word", "vocabulary": [...]}` or
    /// `{"kind": "bpe", "byte_tokens": [...], "merges": [[left, right, result], ...], "vocab_size": n}`.
    private static func olderFile(_ file: JSONField, kind: JSONField) throws -> Tokenizer {
        switch try kind.string() {
        case "char":
            let vocabulary = try file.member("vocabulary").elements()
            return .character(try CharacterTokenizer(checking: vocabulary.map { ($0, try $0.string()) }))
        case "word":
            let vocabulary = try file.member("vocabulary").elements()
            return .word(try WordTokenizer(checking: vocabulary.map { ($0, try $0.string()) }))
        case "bpe":
            let byteTokens = try file.member("byte_tokens").elements().map { try $0.int() }
            let merges = try file.member("merges").elements().map { try $0.elements().map { try $0.int() } }
            let size = try file.member("vocab_size").int()
            do {
                return .bytePair(try BytePairTokenizer(byteTokens: byteTokens, merges: merges, vocabularySize: size))
            } catch let error as GPTError {
                throw file.fail("does not describe a byte-level BPE: \(error)")
            }
        case let other:
            throw kind.fail("is \(String(other.prefix(40)).debugDescription), not char, word or bpe")
        }
    }
}

// MARK: - Parts every kind shares

extension OrderedJSON {
    /// A whole `tokenizer.json` with its members in the order `tokenizers` writes them.
    static func huggingFaceFile(addedTokens: [OrderedJSON] = [], preTokenizer: OrderedJSON, postProcessor: OrderedJSON = .null,
                                decoder: OrderedJSON, model: [(key: String, value: OrderedJSON)]) -> OrderedJSON {
        .object([("version", .string("1.0")), ("truncation", .null), ("padding", .null), ("added_tokens", .array(addedTokens)),
                 ("normalizer", .null), ("pre_tokenizer", preTokenizer), ("post_processor", postProcessor),
                 ("decoder", decoder), ("model", .object(model))])
    }

    /// `model.vocab`: each token and its id, in id order.
    static func vocabulary(_ tokens: [(String, Int)]) -> OrderedJSON {
        .object(tokens.map { ($0.0, .number(String($0.1))) })
    }

    /// The decoder that joins tokens with nothing between them (the default joins them with spaces).
    static let fuse = OrderedJSON.object([("type", .string("Fuse"))])
}

extension JSONField {
    /// `model.vocab` as tokens by id: the ids must be 0 to n-1, each once, and the tokens distinct scalar by scalar.
    func vocabularyByID() throws -> [(field: JSONField, token: String)] {
        let members = try members()
        var byID = [(field: JSONField, token: String)?](repeating: nil, count: members.count)
        var seen = Set<ExactText>()
        for (token, field) in members {
            let id = try field.int()
            guard (0..<members.count).contains(id) else { throw field.fail("is \(id), outside 0..<\(members.count)") }
            guard byID[id] == nil else { throw field.fail("repeats the id \(id)") }
            guard seen.insert(ExactText(token)).inserted else { throw field.fail("repeats a token") }
            byID[id] = (field, token)
        }
        return byID.map { $0! }
    }

    /// Refuses what the character and word files never hold: added tokens (but a character tokenizer's special
    /// tokens, when `allowingSpecial`), and a decoder other than `Fuse`.
    func requirePlainTokens(allowingSpecial: Bool = false) throws {
        if !allowingSpecial, let added = try optionalMember("added_tokens"), let first = try added.elements().first {
            throw first.fail("is an added token; a word tokenizer has none")
        }
        if let decoder = try optionalMember("decoder"), try decoder.member("type").string() != "Fuse" {
            throw decoder.fail("must be Fuse (tokens joined as they are)")
        }
    }

    /// Refuses a member set to anything but `null`, false or "" (options that would change the ids).
    func requireUnset(_ keys: String...) throws {
        for key in keys {
            guard let field = try optionalMember(key) else { continue }
            if case .bool(false) = field.value { continue }
            if case .string("") = field.value { continue }
            throw field.fail("must be null: this package does not apply it")
        }
    }
}

// MARK: - Character and word tokenizers

extension CharacterTokenizer {
    /// A vocabulary read from a file, each entry one Unicode scalar and none repeated.
    init(checking entries: [(field: JSONField, token: String)]) throws {
        var seen = Set<UInt32>()
        let scalars = try entries.map { field, token -> Unicode.Scalar in
            guard token.unicodeScalars.count == 1, let scalar = token.unicodeScalars.first else {
                throw field.fail("must be one character, not \(String(token.prefix(20)).debugDescription)")
            }
            guard seen.insert(scalar.value).inserted else { throw field.fail("repeats the character \(describeScalar(scalar))") }
            return scalar
        }
        self.init(vocabulary: scalars)
    }

    init(huggingFace file: JSONField) throws {
        try file.requirePlainTokens(allowingSpecial: true)
        let model = try file.member("model")
        try model.requireUnset("dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "byte_fallback")
        if let merges = try model.optionalMember("merges"), let first = try merges.elements().first {
            throw first.fail("is a merge; a character tokenizer (a BPE without pre-tokenizer) has none")
        }
        let characters = try CharacterTokenizer(checking: model.member("vocab").vocabularyByID())
        // Special tokens follow the characters, in id order, each matched as written (as this package writes them).
        var special: [String] = []
        for field in try file.optionalMember("added_tokens")?.elements() ?? [] {
            let token = try field.addedToken()
            guard token.id == characters.vocabulary.count + special.count else {
                throw try field.member("id").fail("is \(token.id); a character tokenizer's added tokens follow its "
                    + "\(characters.vocabulary.count) characters in order")
            }
            guard token.special, !token.normalized, !token.singleWord, !token.leftStrip, !token.rightStrip else {
                throw field.fail("must be special, not normalized, without single_word, lstrip or rstrip")
            }
            guard !special.contains(token.content) else { throw try field.member("content").fail("repeats a token") }
            special.append(token.content)
        }
        self = characters.adding(specialTokens: special)
    }

    var huggingFaceFile: OrderedJSON {
        .huggingFaceFile(addedTokens: specialTokens.enumerated().map { index, content in
            .object([("id", .number(String(vocabulary.count + index))), ("content", .string(content)),
                     ("single_word", .bool(false)), ("lstrip", .bool(false)), ("rstrip", .bool(false)),
                     ("normalized", .bool(false)), ("special", .bool(true))])
        }, preTokenizer: .null, decoder: .fuse, model: [
            ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null), ("continuing_subword_prefix", .null),
            ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
            ("ignore_merges", .bool(false)),
            ("vocab", .vocabulary(vocabulary.enumerated().map { (String($1), $0) })), ("merges", .array([])),
        ])
    }
}

extension WordTokenizer {
    /// The id `tokenizers` needs for a word outside the vocabulary; none of ours is (a `<` stands alone).
    static let unknownToken = "<unk>"

    /// A vocabulary read from a file, no token repeated (scalar by scalar).
    init(checking entries: [(field: JSONField, token: String)]) throws {
        var seen = Set<ExactText>()
        for (field, token) in entries where !seen.insert(ExactText(token)).inserted { throw field.fail("repeats a token") }
        self.init(vocabulary: entries.map(\.token))
    }

    init(huggingFace file: JSONField) throws {
        try file.requirePlainTokens()
        let split = try file.member("pre_tokenizer")
        guard (try? split.member("type").string()) == "Split",
              (try? split.member("pattern").member("Regex").string()) == Tokenizer.wordSplitPattern,
              (try? split.member("behavior").string()) == "Isolated", (try? split.optionalMember("invert")?.bool()) != true
        else { throw split.fail("must be the Split of Tokenizer.wordSplitPattern (Isolated), which this package applies") }
        let model = try file.member("model")
        let entries = try model.member("vocab").vocabularyByID()
        if let unknown = try model.optionalMember("unk_token") {
            let token = ExactText(try unknown.string())
            if entries.contains(where: { ExactText($0.token) == token }) {
                throw unknown.fail("is a token of the vocabulary; this package has no unknown-word token")
            }
        }
        try self.init(checking: entries)
    }

    var huggingFaceFile: OrderedJSON {
        let split = OrderedJSON.object([("type", .string("Split")), ("pattern", .object([("Regex", .string(Tokenizer.wordSplitPattern))])),
                                        ("behavior", .string("Isolated")), ("invert", .bool(false))])
        return .huggingFaceFile(preTokenizer: split, decoder: .fuse, model: [
            ("type", .string("WordLevel")),
            ("vocab", .vocabulary(vocabulary.enumerated().map { ($1, $0) })),
            ("unk_token", .string(Self.unknownToken)),
        ])
    }
}

// MARK: - Codable, for files that hold a tokenizer inside them

/// A tokenizer inside another Codable file (a prepared folder's `meta.json`) is written in the compact older format,
/// whose vocabulary is a list: Foundation's coders keep an object's keys in a `Dictionary`, which would merge
/// canonically equivalent tokens ("Å" U+00C5 and U+212B). Either format is read.
extension Tokenizer: Codable {
    public init(from decoder: Decoder) throws {
        do {
            try self.init(file: JSONField(OrderedJSON(from: decoder)))
        } catch let error as JSONFieldError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws { try olderFile.encode(to: encoder) }

    /// The older format that ``olderFile(_:kind:)`` reads.
    var olderFile: OrderedJSON {
        func strings(_ values: [String]) -> OrderedJSON { .array(values.map(OrderedJSON.string)) }
        func numbers(_ values: [Int]) -> OrderedJSON { .array(values.map { .number(String($0)) }) }
        return switch self {
        case .character(let tokenizer):
            .object([("kind", .string(kind)), ("vocabulary", strings(tokenizer.vocabulary.map { String($0) }))])
        case .word(let tokenizer):
            .object([("kind", .string(kind)), ("vocabulary", strings(tokenizer.vocabulary))])
        case .bytePair(let tokenizer) where tokenizer.pipeline != nil:
            tokenizer.huggingFaceFile  // Hugging Face's file: the older format holds no pipeline
        case .bytePair(let tokenizer):
            .object([("kind", .string(kind)), ("byte_tokens", numbers(tokenizer.byteTokens)),
                     ("merges", .array(tokenizer.merges.map(numbers))), ("vocab_size", .number(String(tokenizer.vocabularySize)))])
        }
    }
}

// MARK: - Reading a file of bounded size

/// The bytes of the regular file at `url`, or nil when nothing is there; throws when it is not a regular file or is
/// larger than `limit` bytes, before reading it.
func boundedContents(of url: URL, limit: Int) throws -> Data? {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else { return nil }
    guard attributes[.type] as? FileAttributeType == .typeRegular else {
        throw GPTError.unreadableFile(path: url.path, reason: "it is not a regular file (a directory, a device, a FIFO or a socket)")
    }
    let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
    guard size <= limit else {
        throw GPTError.unreadableFile(path: url.path, reason: "it is \(formatBytes(size)); a \(url.lastPathComponent) has at most \(formatBytes(limit))")
    }
    guard let handle = try? FileHandle(forReadingFrom: url) else {
        throw GPTError.unreadableFile(path: url.path, reason: "it cannot be opened")
    }
    defer { try? handle.close() }
    // Read one byte past the limit: a file that grew since its size was read is refused too.
    let data = (try? handle.read(upToCount: limit + 1)) ?? Data()
    guard data.count <= limit else {
        throw GPTError.unreadableFile(path: url.path, reason: "it is larger than \(formatBytes(limit))")
    }
    return data
}
