/// A word-level tokenizer: each word (a run of letters, digits and marks) with the spaces before it is a token, and
/// so is each punctuation mark and each line break. The vocabulary is the sorted set of tokens in the training text.
///
/// ```swift
/// let tokenizer = WordTokenizer(training: "I love dogs\nI love cats")
/// // tokens: "I", " love", " dogs", "\n", "I", " love", " cats"
/// tokenizer.vocabulary   // ["\n", " cats", " dogs", " love", "I"]
/// ```
/// Decoding concatenates the tokens, so `decode(encode(s)) == s` for any text made of known tokens. A word that
/// never occurred in training cannot be encoded: ``encode(_:)`` throws ``GPTError/unknownText(_:)`` naming it, or
/// ``encode(_:skippingUnknown:)`` leaves it out.
public struct WordTokenizer: Equatable, Sendable {
    /// The tokens by id.
    public let vocabulary: [String]
    private let indexOfToken: [ExactText: Int]

    /// Builds the vocabulary from a text: its distinct tokens (compared scalar by scalar, so "é" and "e" + U+0301
    /// are two tokens, as in Hugging Face's `tokenizers`), sorted.
    public init(training text: String) {
        let distinct = Set(Self.split(text).map(ExactText.init)).map(\.text)
        // Canonically equivalent tokens compare neither way with `<`: their scalars order them.
        self.init(vocabulary: distinct.sorted {
            $0 < $1 || (!($1 < $0) && $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars))
        })
    }

    /// Uses a given vocabulary (token id = position).
    public init(vocabulary: [String]) {
        self.vocabulary = vocabulary
        var index: [ExactText: Int] = [:]
        for (i, token) in vocabulary.enumerated() { index[ExactText(token)] = i }
        indexOfToken = index
    }

    public var vocabularySize: Int { vocabulary.count }

    /// The token ids of `text`; throws ``GPTError/unknownText(_:)`` if a word is outside the vocabulary.
    public func encode(_ text: String) throws -> [Int] {
        try encode(text, skippingUnknown: false).tokens
    }

    /// The token ids of `text` and the words it holds outside the vocabulary, which are skipped when
    /// `skippingUnknown` is true and throw ``GPTError/unknownText(_:)`` otherwise (after counting the whole text).
    public func encode(_ text: String, skippingUnknown: Bool) throws -> (tokens: [Int], skipped: UnknownText) {
        var tokens: [Int] = []
        var unknown = UnknownText(unit: .word)
        var position = 0
        for token in Self.split(text) {
            let length = token.unicodeScalars.count
            if let id = indexOfToken[ExactText(token)] {
                tokens.append(id)
            } else {
                unknown.record(Substring(token), characters: length, position: position)
            }
            position += length
        }
        try unknown.check(skipping: skippingUnknown)
        return (tokens, unknown)
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

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.vocabulary.map(ExactText.init) == rhs.vocabulary.map(ExactText.init)
    }
}

/// A string compared and hashed scalar by scalar (Swift's `String` equality is canonical equivalence).
struct ExactText: Hashable, Sendable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: Self, rhs: Self) -> Bool {
        var (left, right) = (lhs.text, rhs.text)
        return left.withUTF8 { a in right.withUTF8 { b in a.elementsEqual(b) } }
    }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
