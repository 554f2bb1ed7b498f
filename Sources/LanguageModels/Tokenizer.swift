/// A tokenizer saved as `tokenizer.json`, chosen by its `kind`: `char` (Unicode scalars) or `word`.
public enum Tokenizer: Codable, Equatable, Sendable {
    /// The kinds `--tokenizer` accepts.
    public static let kinds = ["char", "word"]

    /// A tokenizer of the given kind trained on `text`.
    public static func training(_ kind: String, on text: String) throws -> Tokenizer {
        switch kind {
        case "char": return .character(CharacterTokenizer(training: text))
        case "word": return .word(WordTokenizer(training: text))
        default:
            throw GPTError.invalidArgument(name: "--tokenizer", reason:
                "unknown kind \(kind.debugDescription); choose one of \(kinds.joined(separator: ", "))")
        }
    }

    /// The token's text as a person reads it in a chart or table.
    public func label(_ token: Int) -> String { decode([token]) }

    case character(CharacterTokenizer)
    case word(WordTokenizer)

    public var vocabularySize: Int {
        switch self {
        case .character(let tokenizer): tokenizer.vocabularySize
        case .word(let tokenizer): tokenizer.vocabularySize
        }
    }

    public func encode(_ text: String) throws -> [Int] {
        switch self {
        case .character(let tokenizer): try tokenizer.encode(text)
        case .word(let tokenizer): try tokenizer.encode(text)
        }
    }

    public func decode(_ tokens: [Int]) -> String {
        switch self {
        case .character(let tokenizer): tokenizer.decode(tokens)
        case .word(let tokenizer): tokenizer.decode(tokens)
        }
    }

    enum CodingKeys: String, CodingKey { case kind }

    public init(from decoder: Decoder) throws {
        let kind = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .kind)
        switch kind {
        case "char": self = .character(try CharacterTokenizer(from: decoder))
        case "word": self = .word(try WordTokenizer(from: decoder))
        default:
            throw DecodingError.dataCorrupted(.init(
                codingPath: [CodingKeys.kind], debugDescription: "unknown tokenizer kind \(kind.debugDescription)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .character(let tokenizer): try tokenizer.encode(to: encoder)
        case .word(let tokenizer): try tokenizer.encode(to: encoder)
        }
    }
}
