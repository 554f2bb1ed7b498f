/// A tokenizer saved as `tokenizer.json`, chosen by its `kind`.
public enum Tokenizer: Codable, Equatable, Sendable {
    case character(CharacterTokenizer)

    public var vocabularySize: Int {
        switch self {
        case .character(let tokenizer): tokenizer.vocabularySize
        }
    }

    public func encode(_ text: String) throws -> [Int] {
        switch self {
        case .character(let tokenizer): try tokenizer.encode(text)
        }
    }

    public func decode(_ tokens: [Int]) -> String {
        switch self {
        case .character(let tokenizer): tokenizer.decode(tokens)
        }
    }

    enum CodingKeys: String, CodingKey { case kind }

    public init(from decoder: Decoder) throws {
        let kind = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .kind)
        switch kind {
        case "char": self = .character(try CharacterTokenizer(from: decoder))
        default:
            throw DecodingError.dataCorrupted(.init(
                codingPath: [CodingKeys.kind], debugDescription: "unknown tokenizer kind \(kind.debugDescription)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .character(let tokenizer): try tokenizer.encode(to: encoder)
        }
    }
}
