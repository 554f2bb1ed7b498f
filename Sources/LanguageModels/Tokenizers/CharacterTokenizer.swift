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

    /// Builds the vocabulary from a text.
    public init(training text: String) {
        self.init(vocabulary: Set(text.unicodeScalars).sorted { $0.value < $1.value })
    }

    /// Uses a given vocabulary (token id = position).
    public init(vocabulary: [Unicode.Scalar]) {
        self.vocabulary = vocabulary
        var index: [UInt32: Int] = [:]
        var ascii = [Int32](repeating: -1, count: 128)
        for (i, scalar) in vocabulary.enumerated() {
            index[scalar.value] = i
            if scalar.isASCII { ascii[Int(scalar.value)] = Int32(i) }
        }
        indexOfScalar = index
        indexOfASCII = ascii
    }

    /// The number of distinct tokens.
    public var vocabularySize: Int { vocabulary.count }

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
        try unknown.check(skipping: skippingUnknown)
        return (tokens, unknown)
    }

    /// The text of token ids; ids outside the vocabulary are skipped.
    public func decode(_ tokens: [Int]) -> String {
        var scalars = String.UnicodeScalarView()
        for token in tokens where token >= 0 && token < vocabulary.count { scalars.append(vocabulary[token]) }
        return String(scalars)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.vocabulary == rhs.vocabulary }
}
