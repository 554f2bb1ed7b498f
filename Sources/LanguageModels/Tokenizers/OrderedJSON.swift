import Foundation

/// A JSON value whose object keys stay exactly as written, in order.
///
/// Foundation's readers turn an object into a Swift `Dictionary<String, _>`, whose keys compare by canonical
/// equivalence: "Å" (U+00C5) and "Å" (U+212B), or "é" and "e" + U+0301, would become one key. A tokenizer's vocabulary
/// holds such entries as different tokens, so `tokenizer.json` is read and written with this type instead.
indirect enum OrderedJSON: Sendable {
    case null
    case bool(Bool)
    /// A number as written (`12`, `-0.5e3`); ``JSONField/int()`` reads it.
    case number(String)
    case string(String)
    case array([OrderedJSON])
    case object([(key: String, value: OrderedJSON)])

    /// The deepest nesting a file may use (a tokenizer.json needs 4 levels); deeper input is refused, not recursed.
    static let maximumDepth = 64

    /// Parses JSON text (RFC 8259): UTF-8, no trailing text, strings with valid escapes and no lone surrogates.
    init(parsing data: Data) throws {
        guard String(data: data, encoding: .utf8) != nil else { throw JSONFieldError(path: "", reason: "is not UTF-8 text") }
        var parser = Parser(bytes: [UInt8](data))
        self = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw parser.fail("text after the JSON value") }
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        func fail(_ reason: String) -> JSONFieldError { JSONFieldError(path: "", reason: "is not JSON: \(reason) at byte \(index)") }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws {
            for byte in literal.utf8 {
                guard index < bytes.count, bytes[index] == byte else { throw fail("expected \(literal)") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws -> OrderedJSON {
            guard depth < OrderedJSON.maximumDepth else { throw fail("nested deeper than \(OrderedJSON.maximumDepth) levels") }
            skipSpace()
            guard index < bytes.count else { throw fail("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(key: String, value: OrderedJSON)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                while true {
                    skipSpace()
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    if index < bytes.count, bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    try expect("}")
                    return .object(members)
                }
            case UInt8(ascii: "["):
                index += 1
                var elements: [OrderedJSON] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
                while true {
                    elements.append(try value(depth: depth + 1))
                    skipSpace()
                    if index < bytes.count, bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    try expect("]")
                    return .array(elements)
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            default: return .number(try number())
            }
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
        mutating func number() throws -> String {
            let start = index
            func digits() -> Int {
                let first = index
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
                return index - first
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let integer = index
            guard digits() > 0, bytes[integer] != 0x30 || index == integer + 1 else { throw fail("invalid number") }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw fail("invalid number") }
            }
            if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw fail("invalid number") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func string() throws -> String {
            try expect("\"")
            // A String, not a UnicodeScalarView: the view's append(contentsOf:) copies the whole text each time.
            var text = ""
            var run = index  // start of the bytes copied as they are
            func flush(_ end: Int) { text += String(decoding: bytes[run..<end], as: UTF8.self) }
            while true {
                guard index < bytes.count else { throw fail("unterminated string") }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    flush(index)
                    index += 1
                    return text
                }
                guard byte >= 0x20 else { throw fail("a control character inside a string") }
                guard byte == UInt8(ascii: "\\") else { index += 1; continue }
                flush(index)
                index += 1
                guard index < bytes.count else { throw fail("unterminated string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.unicodeScalars.append(Unicode.Scalar(escape))
                case UInt8(ascii: "b"): text.unicodeScalars.append("\u{08}")
                case UInt8(ascii: "f"): text.unicodeScalars.append("\u{0C}")
                case UInt8(ascii: "n"): text.unicodeScalars.append("\n")
                case UInt8(ascii: "r"): text.unicodeScalars.append("\r")
                case UInt8(ascii: "t"): text.unicodeScalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { throw fail("a lone surrogate") }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("a lone surrogate") }
                        code = 0x10000 + (code - 0xD800) << 10 + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("a lone surrogate") }
                    text.unicodeScalars.append(scalar)
                default: throw fail("an invalid escape")
                }
                run = index
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count,
                  let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
            else { throw fail("an invalid \\u escape") }
            index += 4
            return code
        }
    }

    // MARK: - Writing

    /// An integer as a JSON number.
    static func integer(_ value: Int) -> OrderedJSON { .number("\(value)") }

    /// A `Float` as the shortest decimal that reads back as it, always with a point or an exponent (`15.0`,
    /// `1e-05`), so Python reads a float where a configuration's field must be one.
    static func float(_ value: Float) -> OrderedJSON {
        let text = "\(value)"
        return .number(text.contains(where: { $0 == "." || $0 == "e" }) ? text : text + ".0")
    }

    /// An object with its members in key order.
    static func sortedObject(_ members: [String: OrderedJSON]) -> OrderedJSON {
        .object(members.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })
    }


    /// The value as JSON text with two-space indentation; arrays of plain values stay on one line.
    var text: String {
        var out = ""
        write(to: &out, indent: "")
        return out + "\n"
    }

    private func write(to out: inout String, indent: String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let text): out += text
        case .string(let string): Self.quote(string, into: &out)
        case .array(let elements):
            if elements.allSatisfy(\.isPlain) {
                out += "["
                for (i, element) in elements.enumerated() {
                    if i > 0 { out += ", " }
                    element.write(to: &out, indent: indent)
                }
                out += "]"
                return
            }
            out += "[\n"
            for (i, element) in elements.enumerated() {
                out += indent + "  "
                element.write(to: &out, indent: indent + "  ")
                out += i + 1 < elements.count ? ",\n" : "\n"
            }
            out += indent + "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{\n"
            for (i, member) in members.enumerated() {
                out += indent + "  "
                Self.quote(member.key, into: &out)
                out += ": "
                member.value.write(to: &out, indent: indent + "  ")
                out += i + 1 < members.count ? ",\n" : "\n"
            }
            out += indent + "}"
        }
    }

    private var isPlain: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, everything else as it is.
    static func quote(_ string: String, into out: inout String) { appendJSONString(string, to: &out) }
}

/// Appends `string` to `out` as a JSON string literal: quotes, backslashes and control characters escaped, everything
/// else as it is (a string with nothing to escape, the common case, appended whole).
public func appendJSONString(_ string: String, to out: inout String) {
    out += "\""
    defer { out += "\"" }
    guard string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
        out += string
        return
    }
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
}
