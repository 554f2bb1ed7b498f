/// A word-level tokenizer: each word (a run of letters, digits and marks) with the spaces before it is a token, and
/// so is each punctuation mark and each line break. The vocabulary is the sorted set of tokens in the training text.
///
/// ```swift
/// let tokenizer = WordTokenizer(training: "I love dogs\nI love cats")
/// // tokens: "I", " love", " dogs", "\n", "I", " love", " cats"
/// tokenizer.vocabulary   // ["\n", " cats", " dogs", " love", "I"]
/// ```
/// Decoding concatenates the tokens, so `decode(encode(s)) == s` for any text made of known tokens. A word that
/// never occurred in training cannot be encoded (``GPTError/unknownCharacter(_:position:)`` names it).
public struct WordTokenizer: Codable, Equatable, Sendable {
    public let vocabulary: [String]
    private let indexOfToken: [String: Int]

    public init(training text: String) {
        self.init(vocabulary: Array(Set(Self.split(text))).sorted())
    }

    public init(vocabulary: [String]) {
        self.vocabulary = vocabulary
        var index: [String: Int] = [:]
        for (i, token) in vocabulary.enumerated() { index[token] = i }
        indexOfToken = index
    }

    public var vocabularySize: Int { vocabulary.count }

    public func encode(_ text: String) throws -> [Int] {
        var position = 0
        return try Self.split(text).map { token in
            defer { position += token.unicodeScalars.count }
            guard let id = indexOfToken[token] else {
                throw GPTError.unknownCharacter("word \(token.debugDescription)", position: position)
            }
            return id
        }
    }

    public func decode(_ tokens: [Int]) -> String {
        tokens.filter { $0 >= 0 && $0 < vocabulary.count }.map { vocabulary[$0] }.joined()
    }

    /// The text cut into tokens: spaces attach to the word or mark after them; line breaks, tabs and trailing
    /// spaces stand alone.
    public static func split(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = String.UnicodeScalarView()
        var inWord = false
        func isWordScalar(_ s: Unicode.Scalar) -> Bool {
            s.properties.isAlphabetic || s.properties.numericType != nil || s.properties.generalCategory == .nonspacingMark
                || s.properties.generalCategory == .spacingMark || s.properties.generalCategory == .enclosingMark
        }
        func flush() {
            if !current.isEmpty { tokens.append(String(current)) }
            current = String.UnicodeScalarView()
            inWord = false
        }
        for scalar in text.unicodeScalars {
            if scalar == " " {
                if inWord || (!current.isEmpty && current.last != " ") { flush() }
                current.append(scalar)
            } else if scalar.properties.isWhitespace {
                flush()
                tokens.append(String(scalar))
            } else if isWordScalar(scalar) {
                if !inWord && !current.isEmpty && current.last != " " { flush() }
                current.append(scalar)
                inWord = true
            } else {
                // A punctuation mark or symbol: its own token, with any spaces before it.
                if inWord { flush() }
                current.append(scalar)
                flush()
            }
        }
        flush()
        return tokens
    }

    enum CodingKeys: String, CodingKey { case kind, vocabulary }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let vocabulary = try container.decode([String].self, forKey: .vocabulary)
        guard Set(vocabulary).count == vocabulary.count else {
            throw DecodingError.dataCorruptedError(forKey: .vocabulary, in: container, debugDescription: "the vocabulary repeats a token")
        }
        self.init(vocabulary: vocabulary)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("word", forKey: .kind)
        try container.encode(vocabulary, forKey: .vocabulary)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.vocabulary == rhs.vocabulary }
}
