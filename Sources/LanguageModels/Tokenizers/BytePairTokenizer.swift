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
    private let rankOfPair: [Int64: (rank: Int, result: Int)]

    public var vocabularySize: Int { tokenBytes.count }
    /// The longest token a tokenizer file may define (GPT-2's longest has 128 bytes).
    public static let maximumTokenBytes = 4096

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
        for (rank, merge) in merges.enumerated() {
            guard merge.count == 3, merge.allSatisfy({ $0 >= 0 && $0 < vocabularySize }),
                  let left = bytes[merge[0]], let right = bytes[merge[1]], bytes[merge[2]] == nil
            else { throw GPTError.invalidArgument(name: "tokenizer", reason: "merge \(rank) \(merge.prefix(3)) is invalid") }
            // Merges of merges can double a token's length each time: a few dozen would fill the memory.
            guard left.count + right.count <= Self.maximumTokenBytes else {
                throw GPTError.invalidArgument(name: "tokenizer", reason:
                    "merge \(rank) makes a token of \(left.count + right.count) bytes; at most \(Self.maximumTokenBytes)")
            }
            bytes[merge[2]] = left + right
            ranks[Self.key(merge[0], merge[1])] = (rank, merge[2])
        }
        self.byteTokens = byteTokens
        self.merges = merges
        tokenBytes = bytes.map { $0 ?? [] }
        rankOfPair = ranks
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

    public func encode(_ text: String) -> [Int] {
        // Keyed scalar by scalar: " Å" (U+00C5) and " Å" (U+212B) are equal Strings with different bytes.
        var cache: [ExactText: [Int]] = [:]
        var tokens: [Int] = []
        for piece in Self.preSplit(text) {
            if let known = cache[ExactText(piece)] {
                tokens += known
                continue
            }
            var ids = piece.utf8.map { byteTokens[Int($0)] }
            while ids.count > 1 {
                var best: (rank: Int, index: Int, result: Int)?
                for i in 0..<(ids.count - 1) {
                    if let found = rankOfPair[Self.key(ids[i], ids[i + 1])], best == nil || found.rank < best!.rank {
                        best = (found.rank, i, found.result)
                    }
                }
                guard let best else { break }
                ids = Self.merge(ids, ids[best.index], ids[best.index + 1], into: best.result)
            }
            cache[ExactText(piece)] = ids
            tokens += ids
        }
        return tokens
    }

    public func decode(_ tokens: [Int]) -> String {
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

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.byteTokens == rhs.byteTokens && lhs.merges == rhs.merges }
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
    public var endOfTextToken: Int? { tokenBytes.firstIndex(where: \.isEmpty) }
    static let endOfTextText = "<|endoftext|>"

    /// `bytes` in GPT-2's printable stand-ins (`Ġ` for a space): how vocab.json, merges.txt and GGUF spell a token.
    static func gpt2Text(_ bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { gpt2ByteCharacters[Int($0)] }))
    }

    /// Loads GPT-2's `vocab.json` (token text to id) and `merges.txt` (one `left right` pair per line, by rank).
    public init(gpt2Vocabulary vocabularyData: Data, merges mergesText: String) throws {
        guard let vocabulary = try? JSONDecoder().decode([String: Int].self, from: vocabularyData) else {
            throw GPTError.invalidArgument(name: "GPT-2 tokenizer files", reason: "vocab.json is not a JSON object of token ids")
        }
        try self.init(gpt2Vocabulary: vocabulary,
                      mergeLines: mergesText.split(separator: "\n").filter { !$0.hasPrefix("#version") }.map(String.init))
    }

    /// A tokenizer from GPT-2's vocabulary (token text to id) and merges (`left right`, by rank).
    init(gpt2Vocabulary vocabulary: [String: Int], mergeLines: [String]) throws {
        func fail(_ reason: String) -> GPTError { .invalidArgument(name: "GPT-2 tokenizer files", reason: reason) }
        let byteTokens = try Self.gpt2ByteCharacters.map { scalar -> Int in
            guard let id = vocabulary[String(scalar)] else { throw fail("vocab.json lacks the byte token \(String(scalar))") }
            return id
        }
        var merges: [[Int]] = []
        for line in mergeLines {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw fail("merges.txt line \(line.debugDescription) is not two tokens") }
            guard let left = vocabulary[String(parts[0])], let right = vocabulary[String(parts[1])],
                  let merged = vocabulary[String(parts[0] + parts[1])]
            else { throw fail("merges.txt pair \(line.debugDescription) uses a token missing from vocab.json") }
            merges.append([left, right, merged])
        }
        try self.init(byteTokens: byteTokens, merges: merges, vocabularySize: (vocabulary.values.max() ?? 0) + 1)
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
