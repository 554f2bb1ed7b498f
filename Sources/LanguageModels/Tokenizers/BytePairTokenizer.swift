import Foundation

/// Byte-level byte-pair encoding, as GPT-2: text is cut with GPT-2's pre-split pattern (contractions, words with
/// their leading space, numbers, punctuation runs, whitespace), each piece becomes its UTF-8 bytes, and learned
/// merges join frequent adjacent pairs into new tokens, lowest rank first.
///
/// Every string encodes (unknown text falls back to single bytes) and `decode(encode(s)) == s` for every string.
/// Decoding a token sequence that cuts a character's bytes in half yields U+FFFD for the incomplete character.
public struct BytePairTokenizer: Equatable, Sendable {
    /// The token of each byte value (for a trained tokenizer, token `b` is byte `b`).
    public let byteTokens: [Int]
    /// Merges by rank: `[left, right, result]`.
    public let merges: [[Int]]
    /// The bytes of each token id.
    public let tokenBytes: [[UInt8]]
    let rankOfPair: [Int64: (rank: Int, result: Int)]
    /// For a SentencePiece-style tokenizer, whose text is one piece: the neighbouring symbols a merge can join.
    let junctions: Set<Int64>?
    /// What a `tokenizer.json` read from a file says beside the merges (normalizer, pre-tokenizer, added tokens,
    /// decoder); nil for GPT-2's pre-split and bytes, as this package trains and writes a byte-level BPE.
    let pipeline: TextPipeline?

    public var vocabularySize: Int { tokenBytes.count }
    /// The longest token a tokenizer file may define (GPT-2's longest has 128 bytes).
    public static let maximumTokenBytes = 4096
    /// The most bytes all tokens of a tokenizer file may hold together (GPT-2's 50,257 hold 320 KB): merges of
    /// long tokens could otherwise make gigabytes from a file of megabytes.
    public static let maximumTotalTokenBytes = 1 << 25
    /// The largest tokenizer file read (`tokenizer.json`, `vocab.json`, `merges.txt`; GPT-2's `tokenizer.json` has
    /// 1.4 MB, Gemma's 256,000 tokens 33 MB), checked before it is parsed.
    public static let maximumFileBytes = 1 << 26

    /// A tokenizer from its byte tokens and ranked merges; every id must be defined before it is used.
    public init(byteTokens: [Int], merges: [[Int]], vocabularySize: Int) throws {
        guard byteTokens.count == 256, Set(byteTokens).count == 256 else {
            throw GPTError.invalidArgument(name: "tokenizer", reason: "a byte-level BPE needs 256 distinct byte tokens")
        }
        guard (256...ModelConfiguration.maximumVocabSize).contains(vocabularySize), merges.count <= vocabularySize else {
            throw GPTError.invalidArgument(name: "tokenizer", reason:
                "vocab_size must be in 256...\(ModelConfiguration.maximumVocabSize) and at least the merges' count, got \(vocabularySize)")
        }
        var bytes = [[UInt8]?](repeating: nil, count: vocabularySize)
        for (byte, token) in byteTokens.enumerated() {
            guard token >= 0 && token < vocabularySize else {
                throw GPTError.invalidArgument(name: "tokenizer", reason: "byte token \(token) is outside the vocabulary")
            }
            bytes[token] = [UInt8(byte)]
        }
        var ranks: [Int64: (Int, Int)] = [:]
        var totalBytes = 256
        for (rank, merge) in merges.enumerated() {
            guard merge.count == 3, merge.allSatisfy({ $0 >= 0 && $0 < vocabularySize }),
                  let left = bytes[merge[0]], let right = bytes[merge[1]], bytes[merge[2]] == nil
            else { throw GPTError.invalidArgument(name: "tokenizer", reason: "merge \(rank) \(merge.prefix(3)) is invalid") }
            // Merges of merges can double a token's length each time: a few dozen would fill the memory.
            guard left.count + right.count <= Self.maximumTokenBytes else {
                throw GPTError.invalidArgument(name: "tokenizer", reason:
                    "merge \(rank) makes a token of \(left.count + right.count) bytes; at most \(Self.maximumTokenBytes)")
            }
            guard ranks[Self.key(merge[0], merge[1])] == nil else {
                throw GPTError.invalidArgument(name: "tokenizer", reason: "merge \(rank) repeats the pair of an earlier merge")
            }
            totalBytes += left.count + right.count
            guard totalBytes <= Self.maximumTotalTokenBytes else {
                throw GPTError.invalidArgument(name: "tokenizer", reason:
                    "merge \(rank) makes the tokens hold more than \(Self.maximumTotalTokenBytes) bytes together")
            }
            bytes[merge[2]] = left + right
            ranks[Self.key(merge[0], merge[1])] = (rank, merge[2])
        }
        self.byteTokens = byteTokens
        self.merges = merges
        tokenBytes = bytes.map { $0 ?? [] }
        rankOfPair = ranks
        pipeline = nil
        junctions = nil
    }

    /// A tokenizer read from a file: each token's bytes (empty where an id has none), byte tokens (-1 where one is
    /// missing; for a character model its `<0xAB>` tokens, or none), merges by rank as `[left, right, result]`.
    init(tokenBytes: [[UInt8]], byteTokens: [Int], merges: [[Int]], pipeline: TextPipeline) {
        (self.tokenBytes, self.byteTokens, self.merges, self.pipeline) = (tokenBytes, byteTokens, merges, pipeline)
        var ranks: [Int64: (Int, Int)] = [:]
        for (rank, merge) in merges.enumerated() where ranks[Self.key(merge[0], merge[1])] == nil {
            ranks[Self.key(merge[0], merge[1])] = (rank, merge[2])
        }
        rankOfPair = ranks
        junctions = pipeline.isByteLevel ? nil : Self.junctions(merges: merges)
    }

    /// Learns `vocabularySize - 256` merges from `text`: each round joins the most frequent adjacent pair
    /// (ties broken by the smaller pair) inside the pre-split pieces.
    public init(training text: String, vocabularySize: Int) throws {
        guard vocabularySize >= 256 else {
            throw GPTError.invalidArgument(name: "--vocab-size", reason: "a byte-level BPE needs at least 256 tokens, got \(vocabularySize)")
        }
        var counts: [ExactText: Int] = [:]
        for piece in Self.preSplit(text) { counts[ExactText(piece), default: 0] += 1 }
        var words = counts.map { (tokens: $0.key.text.utf8.map(Int.init), count: $0.value) }
        var merges: [[Int]] = []
        for next in 256..<vocabularySize {
            var pairs: [Int64: Int] = [:]
            for word in words where word.tokens.count > 1 {
                for i in 0..<(word.tokens.count - 1) { pairs[Self.key(word.tokens[i], word.tokens[i + 1]), default: 0] += word.count }
            }
            guard let best = pairs.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) else { break }
            let (left, right) = (Int(best.key >> 32), Int(best.key & 0xFFFF_FFFF))
            merges.append([left, right, next])
            for index in words.indices where words[index].tokens.count > 1 {
                words[index].tokens = Self.merge(words[index].tokens, left, right, into: next)
            }
        }
        try self.init(byteTokens: Array(0..<256), merges: merges, vocabularySize: 256 + merges.count)
    }

    /// The token ids of `text`, without the post-processor's special tokens (``encode(_:addingSpecialTokens:)``).
    public func encode(_ text: String) -> [Int] {
        if pipeline != nil { return encode(text, addingSpecialTokens: false) }
        // Keyed scalar by scalar: " Å" (U+00C5) and " Å" (U+212B) are equal Strings with different bytes.
        var cache: [ExactText: [Int]] = [:]
        var tokens: [Int] = []
        for piece in Self.preSplit(text) {
            if let known = cache[ExactText(piece)] {
                tokens += known
                continue
            }
            let ids = mergeAll(piece.utf8.map { byteTokens[Int($0)] })
            cache[ExactText(piece)] = ids
            tokens += ids
        }
        return tokens
    }

    public func decode(_ tokens: [Int]) -> String {
        if pipeline != nil { return decode(tokens, skippingSpecialTokens: false) }
        var bytes: [UInt8] = []
        for token in tokens where token >= 0 && token < tokenBytes.count { bytes += tokenBytes[token] }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func key(_ left: Int, _ right: Int) -> Int64 { Int64(left) << 32 | Int64(right) }

    static func merge(_ tokens: [Int], _ left: Int, _ right: Int, into result: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(tokens.count)
        var i = 0
        while i < tokens.count {
            if i + 1 < tokens.count && tokens[i] == left && tokens[i + 1] == right {
                out.append(result)
                i += 2
            } else {
                out.append(tokens[i])
                i += 1
            }
        }
        return out
    }

    // MARK: - GPT-2's pre-split pattern

    /// The text cut as GPT-2's pattern
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` cuts it. The pieces concatenate
    /// back to the text.
    public static func preSplit(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        let n = s.count
        func isLetter(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
            default: false
            }
        }
        func isNumber(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .decimalNumber, .letterNumber, .otherNumber: true
            default: false
            }
        }
        func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
        func isOther(_ c: Unicode.Scalar) -> Bool { !isSpace(c) && !isLetter(c) && !isNumber(c) }
        var pieces: [String] = []
        var i = 0
        func take(_ end: Int) {
            pieces.append(String(String.UnicodeScalarView(s[i..<end])))
            i = end
        }
        while i < n {
            // Contractions, compared scalar by scalar (String comparison would see "s" + a combining mark as one
            // grapheme and miss the match, as GPT-2's regex does not).
            if s[i] == "'", i + 1 < n {
                let next = s[i + 1]
                if i + 2 < n, [("r", "e"), ("v", "e"), ("l", "l")].contains(where: { next == $0.0 && s[i + 2] == $0.1 }) {
                    take(i + 3)
                    continue
                }
                if ["s", "t", "m", "d"].contains(next) { take(i + 2); continue }
            }
            let start = s[i] == " " && i + 1 < n ? i + 1 : i
            var matched = false
            for test in [isLetter, isNumber, isOther] where test(s[start]) {
                var end = start + 1
                while end < n && test(s[end]) { end += 1 }
                take(end)
                matched = true
                break
            }
            if matched { continue }
            // Whitespace: all of it at the end of the text; before a non-space, all but its last character (which
            // may start the next piece); a single character alone.
            var end = i
            while end < n && isSpace(s[end]) { end += 1 }
            take(end == n || end - i == 1 ? end : end - 1)
        }
        return pieces
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.byteTokens == rhs.byteTokens && lhs.merges == rhs.merges && lhs.pipeline == rhs.pipeline
    }
}

// MARK: - GPT-2's files

extension BytePairTokenizer {
    /// GPT-2's printable stand-in for each byte (`bytes_to_unicode` in its encoder.py): printable Latin-1 bytes
    /// stand for themselves, the others map to code points from U+0100 up.
    static let gpt2ByteCharacters: [Unicode.Scalar] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var scalars = printable.map { Unicode.Scalar(UInt32($0))! }
        var next: UInt32 = 256
        for byte in 0..<256 where !printable.contains(byte) {
            printable.append(byte)
            scalars.append(Unicode.Scalar(next)!)
            next += 1
        }
        var result = [Unicode.Scalar](repeating: " ", count: 256)
        for (byte, scalar) in zip(printable, scalars) { result[byte] = scalar }
        return result
    }()

    /// GPT-2's end-of-text token: the first id that no byte and no merge forms (50256 in GPT-2's vocabulary), if any.
    /// For a tokenizer read with added tokens: the id of the added `<|endoftext|>`, if any.
    public var endOfTextToken: Int? {
        if let pipeline { return pipeline.added.tokens.first { $0.content == Self.endOfTextText }?.id }
        return tokenBytes.firstIndex(where: \.isEmpty)
    }
    static let endOfTextText = "<|endoftext|>"

    /// `bytes` in GPT-2's printable stand-ins (`Ġ` for a space): how vocab.json, merges.txt and GGUF spell a token.
    static func gpt2Text(_ bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { gpt2ByteCharacters[Int($0)] }))
    }

    /// Loads GPT-2's `vocab.json` (token text to id: the ids 0 to n-1, each once) and `merges.txt` (one `left right`
    /// pair per line, by rank; `\n` or `\r\n` line ends, a `#version` line skipped).
    public init(gpt2Vocabulary vocabularyData: Data, merges mergesText: String) throws {
        try self.init(gpt2Vocabulary: vocabularyData, merges: mergesText, maximumVocabularySize: ModelConfiguration.maximumVocabSize)
    }

    /// As ``init(gpt2Vocabulary:merges:)``, refusing more than `maximumVocabularySize` tokens (a model's vocab_size)
    /// before the merges are read.
    init(gpt2Vocabulary vocabularyData: Data, merges mergesText: String, maximumVocabularySize: Int) throws {
        func fail(_ reason: String) -> GPTError { .invalidArgument(name: "GPT-2 tokenizer files", reason: reason) }
        guard vocabularyData.count <= Self.maximumFileBytes, mergesText.utf8.count <= Self.maximumFileBytes else {
            throw fail("vocab.json and merges.txt may have at most \(formatBytes(Self.maximumFileBytes)) each")
        }
        let tokens: [String]
        do {
            tokens = try JSONField(OrderedJSON(parsing: vocabularyData)).vocabularyByID().map(\.token)
        } catch let error as JSONFieldError {
            throw fail("vocab.json \(error)")
        }
        guard tokens.count <= maximumVocabularySize else {
            throw fail("vocab.json has \(tokens.count) tokens, more than the \(maximumVocabularySize) of the model")
        }
        try self.init(gpt2Tokens: tokens, merges: try Self.mergePairs(mergesText))
    }

    /// The pairs of GPT-2's `merges.txt`, by rank: lines cut at `\n` (a `\r` before it dropped) scalar by scalar
    /// (as Characters, `\r\n` is one), empty and `#version` lines skipped, each line exactly two tokens around a space.
    static func mergePairs(_ text: String) throws -> [(left: String, right: String)] {
        var pairs: [(left: String, right: String)] = []
        for var line in text.unicodeScalars.split(separator: "\n") {
            if line.last == "\r" { line = line.dropLast() }
            if line.isEmpty || line.starts(with: "#version".unicodeScalars) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw GPTError.invalidArgument(name: "GPT-2 tokenizer files", reason:
                    "merges.txt line \(pairs.count + 1) \(String(Substring(line).prefix(40)).debugDescription) is not two tokens around a space")
            }
            pairs.append((String(Substring(parts[0])), String(Substring(parts[1]))))
        }
        return pairs
    }

    /// A tokenizer from GPT-2's vocabulary (token texts by id, each distinct) and merges (by rank).
    init(gpt2Tokens tokens: [String], merges pairs: [(left: String, right: String)]) throws {
        func fail(_ reason: String) -> GPTError { .invalidArgument(name: "GPT-2 tokenizer files", reason: reason) }
        // Sizes first: each merge forms a token of its own beside the 256 byte tokens.
        guard tokens.count >= 256, pairs.count <= tokens.count - 256 else {
            throw fail("\(pairs.count) merges need \(pairs.count) tokens beside the 256 byte tokens; vocab.json has \(tokens.count)")
        }
        var ids: [ExactText: Int] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { ids[ExactText(token)] = id }
        let byteTokens = try Self.gpt2ByteCharacters.map { scalar -> Int in
            guard let id = ids[ExactText(String(scalar))] else { throw fail("vocab.json lacks the byte token \(describeScalar(scalar))") }
            return id
        }
        let merges = try pairs.enumerated().map { rank, pair -> [Int] in
            guard let left = ids[ExactText(pair.left)], let right = ids[ExactText(pair.right)],
                  let merged = ids[ExactText(pair.left + pair.right)]
            else { throw fail("merge \(rank) (\(String((pair.left + " " + pair.right).prefix(40)).debugDescription)) uses a token missing from the vocabulary") }
            return [left, right, merged]
        }
        try self.init(byteTokens: byteTokens, merges: merges, vocabularySize: tokens.count)
    }

    /// GPT-2's `vocab.json` and `merges.txt` for this tokenizer (the inverse of ``init(gpt2Vocabulary:merges:)``):
    /// each token's bytes in GPT-2's printable stand-ins, and the merges by rank.
    public func gpt2Files() throws -> (vocabulary: Data, merges: String) {
        func text(_ token: Int) -> String { Self.gpt2Text(tokenBytes[token]) }
        var vocabulary: [String: Int] = [:]
        for token in 0..<vocabularySize where !tokenBytes[token].isEmpty { vocabulary[text(token)] = token }
        if let endOfText = endOfTextToken { vocabulary[Self.endOfTextText] = endOfText }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines = merges.map { "\(text($0[0])) \(text($0[1]))" }
        return (try encoder.encode(vocabulary), "#version: 0.2\n" + lines.joined(separator: "\n") + "\n")
    }
}
