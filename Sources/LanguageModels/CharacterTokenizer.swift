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
public struct CharacterTokenizer: Codable, Equatable, Sendable {
    /// The distinct scalars of the training text, sorted by code point.
    public let vocabulary: [Unicode.Scalar]
    private let indexOfScalar: [UInt32: Int]

    /// Builds the vocabulary from a text.
    public init(training text: String) {
        self.init(vocabulary: Set(text.unicodeScalars).sorted { $0.value < $1.value })
    }

    /// Uses a given vocabulary (token id = position).
    public init(vocabulary: [Unicode.Scalar]) {
        self.vocabulary = vocabulary
        var index: [UInt32: Int] = [:]
        for (i, scalar) in vocabulary.enumerated() { index[scalar.value] = i }
        indexOfScalar = index
    }

    /// The number of distinct tokens.
    public var vocabularySize: Int { vocabulary.count }

    /// The token ids of `text`; throws ``GPTError/unknownCharacter(_:position:)`` for a scalar outside the
    /// vocabulary.
    public func encode(_ text: String) throws -> [Int] {
        var tokens: [Int] = []
        tokens.reserveCapacity(text.utf8.count)
        for (position, scalar) in text.unicodeScalars.enumerated() {
            guard let id = indexOfScalar[scalar.value] else {
                throw GPTError.unknownCharacter(describeScalar(scalar), position: position)
            }
            tokens.append(id)
        }
        return tokens
    }

    /// The text of token ids; ids outside the vocabulary are skipped.
    public func decode(_ tokens: [Int]) -> String {
        var scalars = String.UnicodeScalarView()
        for token in tokens where token >= 0 && token < vocabulary.count { scalars.append(vocabulary[token]) }
        return String(scalars)
    }

    // MARK: - Codable: `{"kind": "char", "vocabulary": ["\n", " ", "!", ...]}`

    enum CodingKeys: String, CodingKey { case kind, vocabulary }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let strings = try container.decode([String].self, forKey: .vocabulary)
        var scalars: [Unicode.Scalar] = []
        for string in strings {
            let view = string.unicodeScalars
            guard view.count == 1, let scalar = view.first else {
                throw DecodingError.dataCorruptedError(
                    forKey: .vocabulary, in: container, debugDescription: "entry \(string.debugDescription) is not one character")
            }
            scalars.append(scalar)
        }
        guard Set(scalars.map(\.value)).count == scalars.count else {
            throw DecodingError.dataCorruptedError(
                forKey: .vocabulary, in: container, debugDescription: "the vocabulary repeats a character")
        }
        self.init(vocabulary: scalars)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("char", forKey: .kind)
        try container.encode(vocabulary.map { String($0) }, forKey: .vocabulary)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.vocabulary == rhs.vocabulary }
}
