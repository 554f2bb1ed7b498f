/// A value read from a JSON file together with the path that leads to it, so that an error names the field:
/// `field model.vocab must be an object, not an array`.
struct JSONField {
    let value: OrderedJSON
    /// Dotted keys and indices from the top: `model.merges[3]`; empty for the whole file.
    let path: String

    init(_ value: OrderedJSON, path: String = "") {
        self.value = value
        self.path = path
    }

    func fail(_ reason: String) -> JSONFieldError { JSONFieldError(path: path, reason: reason) }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The member named `key`; throws if it is missing.
    func member(_ key: String) throws -> JSONField {
        guard let found = try optionalMember(key) else { throw JSONFieldError(path: child(key), reason: "is missing") }
        return found
    }

    /// The member named `key`, or nil when it is absent or `null`.
    func optionalMember(_ key: String) throws -> JSONField? {
        guard case .object(let members) = value else { throw mismatch("an object") }
        guard let found = members.first(where: { $0.key == key }) else { return nil }
        if case .null = found.value { return nil }
        return JSONField(found.value, path: child(key))
    }

    /// The members of an object, keys exactly as written and in order.
    func members() throws -> [(key: String, field: JSONField)] {
        guard case .object(let members) = value else { throw mismatch("an object") }
        return members.map { ($0.key, JSONField($0.value, path: child($0.key.debugDescription))) }
    }

    func elements() throws -> [JSONField] {
        guard case .array(let elements) = value else { throw mismatch("an array") }
        return elements.enumerated().map { JSONField($1, path: "\(path)[\($0)]") }
    }

    func string() throws -> String {
        guard case .string(let string) = value else { throw mismatch("a string") }
        return string
    }

    func int() throws -> Int {
        guard case .number(let text) = value, let int = Int(text) else { throw mismatch("an integer") }
        return int
    }

    /// A number, integer or not, that a `Double` holds (not an infinity that a huge exponent rounds to).
    func double() throws -> Double {
        guard case .number(let text) = value, let double = Double(text), double.isFinite else { throw mismatch("a number") }
        return double
    }

    func bool() throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch("true or false") }
        return bool
    }

    private func mismatch(_ expected: String) -> JSONFieldError {
        let found = switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number(let text): Int(text) == nil ? "the number \(text.prefix(20))" : "a number"
        case .string(let string): "the string \(String(string.prefix(40)).debugDescription)"
        case .array: "an array"
        case .object: "an object"
        }
        return fail("must be \(expected), not \(found)")
    }
}

/// A field of a JSON file that is missing, of the wrong type or holds a value that does not fit.
struct JSONFieldError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { path.isEmpty ? reason : "field \(path) \(reason)" }
}

// MARK: - Codable bridge

/// Lets a type stored in `tokenizer.json` also sit inside other Codable files (a prepared folder's meta.json).
/// Foundation's decoder merges canonically equivalent object keys: where that matters, read the file with
/// ``OrderedJSON/init(parsing:)``.
extension OrderedJSON: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        if let container = try? decoder.container(keyedBy: Key.self) {
            self = .object(try container.allKeys.map { ($0.stringValue, try container.decode(OrderedJSON.self, forKey: $0)) })
        } else if var container = try? decoder.unkeyedContainer() {
            var elements: [OrderedJSON] = []
            while !container.isAtEnd { elements.append(try container.decode(OrderedJSON.self)) }
            self = .array(elements)
        } else {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let bool = try? container.decode(Bool.self) {
                self = .bool(bool)
            } else if let int = try? container.decode(Int.self) {
                self = .number(String(int))
            } else if let double = try? container.decode(Double.self) {
                self = .number(String(double))
            } else {
                self = .string(try container.decode(String.self))
            }
        }
    }

    func encode(to encoder: Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let bool):
            var container = encoder.singleValueContainer()
            try container.encode(bool)
        case .number(let text):
            var container = encoder.singleValueContainer()
            if let int = Int(text) { try container.encode(int) } else { try container.encode(Double(text) ?? 0) }
        case .string(let string):
            var container = encoder.singleValueContainer()
            try container.encode(string)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements { try container.encode(element) }
        case .object(let members):
            var container = encoder.container(keyedBy: Key.self)
            for member in members { try container.encode(member.value, forKey: Key(stringValue: member.key)) }
        }
    }
}
