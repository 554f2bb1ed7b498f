/// A tokenizer saved as `tokenizer.json`, chosen by its `kind`: `char` (Unicode scalars), `word`, or `bpe`
/// (byte-level byte-pair encoding).
public enum Tokenizer: Codable, Equatable, Sendable {
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

    public var vocabularySize: Int {
        switch self {
        case .character(let tokenizer): tokenizer.vocabularySize
        case .word(let tokenizer): tokenizer.vocabularySize
        case .bytePair(let tokenizer): tokenizer.vocabularySize
        }
    }

    public func encode(_ text: String) throws -> [Int] {
        switch self {
        case .character(let tokenizer): try tokenizer.encode(text)
        case .word(let tokenizer): try tokenizer.encode(text)
        case .bytePair(let tokenizer): tokenizer.encode(text)
        }
    }

    public func decode(_ tokens: [Int]) -> String {
        switch self {
        case .character(let tokenizer): tokenizer.decode(tokens)
        case .word(let tokenizer): tokenizer.decode(tokens)
        case .bytePair(let tokenizer): tokenizer.decode(tokens)
        }
    }

    enum CodingKeys: String, CodingKey { case kind }

    public init(from decoder: Decoder) throws {
        let kind = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .kind)
        switch kind {
        case "char": self = .character(try CharacterTokenizer(from: decoder))
        case "word": self = .word(try WordTokenizer(from: decoder))
        case "bpe": self = .bytePair(try BytePairTokenizer(from: decoder))
        default:
            throw DecodingError.dataCorrupted(.init(
                codingPath: [CodingKeys.kind], debugDescription: "unknown tokenizer kind \(kind.debugDescription)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .character(let tokenizer): try tokenizer.encode(to: encoder)
        case .word(let tokenizer): try tokenizer.encode(to: encoder)
        case .bytePair(let tokenizer): try tokenizer.encode(to: encoder)
        }
    }
}
