import Foundation

/// A tokenizer, saved as Hugging Face's `tokenizer.json` (see ``init(huggingFaceJSON:source:)``): `char` (Unicode
/// scalars), `word`, or `bpe` (byte-level byte-pair encoding).
public enum Tokenizer: Equatable, Sendable {
    /// The kinds `--tokenizer` accepts.
    public static let kinds = ["char", "word", "bpe"]

    /// A tokenizer of the given kind trained on `text` (`vocabularySize` applies to `bpe`).
    public static func training(_ kind: String, on text: String, vocabularySize: Int = 512) throws -> Tokenizer {
        switch kind {
        case "char": return .character(CharacterTokenizer(training: text))
        case "word": return .word(WordTokenizer(training: text))
        case "bpe": return .bytePair(try BytePairTokenizer(training: text, vocabularySize: vocabularySize))
        default:
            throw GPTError.invalidArgument(name: "--tokenizer", reason:
                "unknown kind \(kind.debugDescription); choose one of \(kinds.joined(separator: ", "))")
        }
    }

    /// The token's text as a person reads it in a chart or table.
    public func label(_ token: Int) -> String { decode([token]) }

    case character(CharacterTokenizer)
    case word(WordTokenizer)
    case bytePair(BytePairTokenizer)

    /// `char`, `word` or `bpe` (one of ``kinds``).
    public var kind: String {
        switch self {
        case .character: "char"
        case .word: "word"
        case .bytePair: "bpe"
        }
    }

    public var vocabularySize: Int {
        switch self {
        case .character(let tokenizer): tokenizer.vocabularySize
        case .word(let tokenizer): tokenizer.vocabularySize
        case .bytePair(let tokenizer): tokenizer.vocabularySize
        }
    }

    /// The token ids of `text`; throws ``GPTError/unknownText(_:)``, which counts every character of the text
    /// outside the vocabulary and names a few, if there is any (a byte-level BPE encodes every text).
    public func encode(_ text: String) throws -> [Int] {
        try encode(text, skippingUnknown: false).tokens
    }

    /// The token ids of `text`, leaving out what the vocabulary lacks when `skippingUnknown` is true (what
    /// Hugging Face's `tokenizers` does for a character tokenizer's file), and an account of what was left out.
    ///
    /// ```swift
    /// let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abc"))
    /// let (tokens, skipped) = try tokenizer.encode("abcé", skippingUnknown: true)
    /// // tokens == [0, 1, 2]; skipped.characters == 1; skipped.examples == ["é"]
    /// ```
    public func encode(_ text: String, skippingUnknown: Bool) throws -> (tokens: [Int], skipped: UnknownText) {
        switch self {
        case .character(let tokenizer): try tokenizer.encode(text, skippingUnknown: skippingUnknown)
        case .word(let tokenizer): try tokenizer.encode(text, skippingUnknown: skippingUnknown)
        case .bytePair(let tokenizer): (tokenizer.encode(text), UnknownText(unit: .character))
        }
    }

    public func decode(_ tokens: [Int]) -> String {
        switch self {
        case .character(let tokenizer): tokenizer.decode(tokens)
        case .word(let tokenizer): tokenizer.decode(tokens)
        case .bytePair(let tokenizer): tokenizer.decode(tokens)
        }
    }
}

/// What encoding found outside the vocabulary: how many characters (Unicode scalars) and pieces (characters, or
/// words for a word tokenizer), where the first was, and a few distinct examples.
public struct UnknownText: Equatable, Sendable, CustomStringConvertible {
    /// What a tokenizer looks up: a character or a word.
    public enum Unit: String, Sendable { case character, word }

    /// The most distinct examples kept.
    public static let exampleLimit = 5

    public let unit: Unit
    /// The Unicode scalars of the text outside the vocabulary (for a word tokenizer: in words outside it).
    public private(set) var characters = 0
    /// The pieces outside the vocabulary: characters, or words for a word tokenizer.
    public private(set) var pieces = 0
    /// The scalar offset of the first piece outside the vocabulary, if any.
    public private(set) var firstPosition: Int?
    /// Up to ``exampleLimit`` distinct pieces outside the vocabulary, in order of first appearance.
    public private(set) var examples: [String] = []

    public init(unit: Unit) { self.unit = unit }

    /// True when the whole text was in the vocabulary.
    public var isEmpty: Bool { pieces == 0 }

    /// Counts one piece of `characters` scalars found at scalar offset `position`.
    mutating func record(_ piece: Substring, characters: Int, position: Int) {
        self.characters += characters
        pieces += 1
        if firstPosition == nil { firstPosition = position }
        if examples.count < Self.exampleLimit, !examples.contains(where: { $0.unicodeScalars.elementsEqual(piece.unicodeScalars) }) {
            examples.append(String(piece))
        }
    }

    /// `3 characters ("é" (U+00E9), "ß" (U+00DF)), the first at position 12`, or
    /// `2 words, 9 characters ("naïve", "über"), the first at position 0`.
    public var description: String {
        let shown = examples.map { example -> String in
            let scalars = example.unicodeScalars
            if unit == .character, scalars.count == 1, let scalar = scalars.first { return describeScalar(scalar) }
            let cut = scalars.count > 20 ? String(String.UnicodeScalarView(scalars.prefix(20))) + "…" : example
            return cut.debugDescription
        }
        let more = pieces > examples.count ? ", …" : ""
        let count = unit == .word ? "\(pieces) word\(pieces == 1 ? "" : "s"), \(characters) character\(characters == 1 ? "" : "s")"
            : "\(characters) character\(characters == 1 ? "" : "s")"
        return "\(count) (\(shown.joined(separator: ", "))\(more)), the first at position \(firstPosition ?? 0)"
    }

    /// Throws ``GPTError/unknownText(_:)`` unless the text was all known or unknown pieces are to be skipped.
    func check(skipping: Bool) throws {
        if !skipping && !isEmpty { throw GPTError.unknownText(self) }
    }
}
