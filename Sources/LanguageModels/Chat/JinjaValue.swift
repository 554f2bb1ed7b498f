import Foundation

/// A JSON-like value handed to a chat template: what `messages`, `tools` and any extra variable hold.
///
/// Objects keep their keys in insertion order, as Python's `dict` does, so `tojson` and `items()` list them in the
/// order they were written. Build one from Swift literals (`["role": "user", "content": "Hi"]`) or from JSON text
/// with ``init(json:)``.
public enum JinjaValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    case object(JinjaObject)

    /// Parses JSON text, keeping object keys in order; integers without a fraction or exponent become ``int(_:)``.
    public init(json data: Data) throws(ChatTemplateError) {
        do {
            self = JinjaValue(try OrderedJSON(parsing: data))
        } catch {
            throw ChatTemplateError.invalidValue("\(error)")
        }
    }

    init(_ json: OrderedJSON) {
        switch json {
        case .null: self = .none
        case .bool(let value): self = .bool(value)
        case .number(let text):
            if let value = Int(text) { self = .int(value) } else { self = .double(Double(text) ?? .nan) }
        case .string(let value): self = .string(value)
        case .array(let elements): self = .array(elements.map(JinjaValue.init))
        case .object(let members):
            var object = JinjaObject()
            for member in members { object[member.key] = JinjaValue(member.value) }
            self = .object(object)
        }
    }
}

/// A string-keyed dictionary that remembers insertion order (Python's `dict`).
public struct JinjaOrderedDictionary<Element> {
    public private(set) var keys: [String] = []
    private var storage: [String: Element] = [:]

    public init() {}

    public init(_ pairs: [(String, Element)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }

    public subscript(key: String) -> Element? {
        get { storage[key] }
        set {
            if newValue != nil, storage[key] == nil { keys.append(key) }
            if newValue == nil, storage[key] != nil { keys.removeAll { $0 == key } }
            storage[key] = newValue
        }
    }

    /// The values in insertion order.
    public var values: [Element] { keys.map { storage[$0]! } }

    /// The pairs in insertion order.
    public var pairs: [(key: String, value: Element)] { keys.map { ($0, storage[$0]!) } }

    /// The same keys with each value transformed.
    func mapValues<T>(_ transform: (Element) throws -> T) rethrows -> JinjaOrderedDictionary<T> {
        var result = JinjaOrderedDictionary<T>()
        for key in keys { result[key] = try transform(storage[key]!) }
        return result
    }
}

extension JinjaOrderedDictionary: Sendable where Element: Sendable {}

extension JinjaOrderedDictionary: Equatable where Element: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.keys == rhs.keys && lhs.storage == rhs.storage }
}

/// A JSON object handed to a template.
public typealias JinjaObject = JinjaOrderedDictionary<JinjaValue>

// MARK: - Literals

extension JinjaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JinjaValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JinjaValue)...) { self = .object(JinjaObject(elements)) }
    public init(nilLiteral: ()) { self = .none }
}
