/// The lecture's character tokenizer: the vocabulary is the sorted set of distinct characters in the text
/// (`sorted(set(text))`), and a token id is a character's index in it.
///
/// Characters are Unicode scalars, not Swift `Character`s: a `Character` is a grapheme cluster ("\r\n" is one),
/// which would merge what Python treats as two characters.
///
/// ```swift
/// let tokenizer = CharacterTokenizer(training: "hello")   // vocabulary: e h l o
/// try tokenizer.encode("hell")                             // [1, 0, 2, 2]
/// tokenizer.decode([3])                                    // "o"
/// ```
public struct CharacterTokenizer: Equatable, Sendable {
    /// The distinct scalars of the training text, sorted by code point.
    public let vocabulary: [Unicode.Scalar]
    private let indexOfScalar: [UInt32: Int]
    /// The id of each ASCII scalar, -1 when it is not in the vocabulary: most text needs no hashing.
    private let indexOfASCII: [Int32]
    /// Special tokens (ChatML's `<|im_start|>`, `<|im_end|>`) after the characters: token `vocabulary.count + i` is
    /// `specialTokens[i]`, matched whole in text before the characters are looked up (`tokenizer.json`'s
    /// `added_tokens`).
    public let specialTokens: [String]
    private let added: AddedVocabulary

    /// Builds the vocabulary from a text.
    public init(training text: String) {
        self.init(vocabulary: Set(text.unicodeScalars).sorted { $0.value < $1.value })
    }

    /// Uses a given vocabulary (token id = position).
    public init(vocabulary: [Unicode.Scalar], specialTokens: [String] = []) {
        self.vocabulary = vocabulary
        self.specialTokens = specialTokens
        added = AddedVocabulary(specialTokens.enumerated().map {
            AddedToken(id: vocabulary.count + $0.offset, content: $0.element, special: true, normalized: false)
        }, normalizer: nil)
        var index: [UInt32: Int] = [:]
        var ascii = [Int32](repeating: -1, count: 128)
        for (i, scalar) in vocabulary.enumerated() {
            index[scalar.value] = i
            if scalar.isASCII { ascii[Int(scalar.value)] = Int32(i) }
        }
        indexOfScalar = index
        indexOfASCII = ascii
    }

    /// The number of distinct tokens: the characters and the special tokens.
    public var vocabularySize: Int { vocabulary.count + specialTokens.count }

    /// This tokenizer with `tokens` added as special tokens after the present ones (those it has already are
    /// skipped), so their ids are `vocabularySize...`.
    public func adding(specialTokens tokens: [String]) -> CharacterTokenizer {
        CharacterTokenizer(vocabulary: vocabulary, specialTokens: specialTokens + tokens.filter { !specialTokens.contains($0) })
    }

    /// The token ids of `text`; throws ``GPTError/unknownText(_:)`` if a scalar is outside the vocabulary.
    public func encode(_ text: String) throws -> [Int] {
        try encode(text, skippingUnknown: false).tokens
    }

    /// The token ids of `text` and what it holds outside the vocabulary, which is skipped when `skippingUnknown`
    /// is true and throws ``GPTError/unknownText(_:)`` otherwise (after counting the whole text).
    public func encode(_ text: String, skippingUnknown: Bool) throws -> (tokens: [Int], skipped: UnknownText) {
        var tokens: [Int] = []
        tokens.reserveCapacity(text.utf8.count)
        var unknown = UnknownText(unit: .character)
        var position = 0
        for part in added.isEmpty ? [(Substring(text), nil)] : added.split(Substring(text), normalized: false) {
            if let id = part.id {
                tokens.append(id)
                position += part.text.unicodeScalars.count
                continue
            }
            encodeCharacters(part.text, into: &tokens, unknown: &unknown, position: &position)
        }
        try unknown.check(skipping: skippingUnknown)
        return (tokens, unknown)
    }

    /// Looks up each scalar of `text`, recording those outside the vocabulary.
    private func encodeCharacters(_ text: Substring, into tokens: inout [Int], unknown: inout UnknownText,
                                  position: inout Int) {
        indexOfASCII.withUnsafeBufferPointer { ascii in
            for scalar in text.unicodeScalars {
                let id = scalar.isASCII ? Int(ascii[Int(scalar.value)]) : indexOfScalar[scalar.value] ?? -1
                if id >= 0 {
                    tokens.append(id)
                } else {
                    unknown.record(Substring(String(scalar)), characters: 1, position: position)
                }
                position += 1
            }
        }
    }

    /// The text of token ids (a special token's text included); ids outside the vocabulary are skipped.
    public func decode(_ tokens: [Int]) -> String {
        var scalars = String.UnicodeScalarView()
        for token in tokens where token >= 0 && token < vocabularySize {
            if token < vocabulary.count {
                scalars.append(vocabulary[token])
            } else {
                scalars.append(contentsOf: specialTokens[token - vocabulary.count].unicodeScalars)
            }
        }
        return String(scalars)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.vocabulary == rhs.vocabulary && lhs.specialTokens == rhs.specialTokens
    }
}
