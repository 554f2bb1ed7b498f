// Values as Python writes them: `str()` (what `{{ }}` prints), `repr()` (inside lists and dicts) and `json.dumps`
// (what transformers' `tojson` filter returns).

extension Value {
    /// Python's `str(value)`; undefined prints as nothing.
    var pythonString: String {
        switch self {
        case .undefined: ""
        case .string(let value): value
        default: pythonRepr
        }
    }

    /// Python's `repr(value)`: `None`, `True`, `1.0`, `'text'`, `[1, 'a']`, `{'k': 'v'}`.
    var pythonRepr: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case .bool(let value): value ? "True" : "False"
        case .int(let value): String(value)
        case .double(let value): pythonFloat(value)
        case .string(let value): pythonQuote(value)
        case .array(let elements): "[" + elements.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .tuple(let elements):
            "(" + elements.map(\.pythonRepr).joined(separator: ", ") + (elements.count == 1 ? ",)" : ")")
        case .object(let object):
            "{" + object.pairs.map { pythonQuote($0.key) + ": " + $0.value.pythonRepr }.joined(separator: ", ") + "}"
        // A namespace may hold itself: its attributes are not printed.
        case .namespace: "<Namespace>"
        case .callable: "<function>"
        case .loop: "<LoopContext>"
        }
    }
}

/// Python's `repr(float)`: the shortest digits that read back the same, in fixed notation for exponents from -4 to
/// 15 (`1e-05`, `0.0001`, `1000000000000000.0`, `1e+16`), `inf`, `nan`.
func pythonFloat(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    // Swift's description gives the same shortest digits; only the layout differs.
    var text = value.magnitude.description
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exponent = Int(text[text.index(after: e)...]) ?? 0
        text = String(text[..<e])
    }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    let integerPart = String(parts[0])
    let fraction = parts.count > 1 ? String(parts[1]) : ""
    var digits = Array(integerPart + fraction)
    var point = integerPart.count + exponent  // digits[0..<point] come before the decimal point
    while digits.count > 1, digits.first == "0" { digits.removeFirst(); point -= 1 }
    while digits.count > 1, digits.last == "0" { digits.removeLast() }
    let sign = value.sign == .minus ? "-" : ""
    if digits == ["0"] { return sign + "0.0" }
    let decimalExponent = point - 1
    if (-4..<16).contains(decimalExponent) {
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + String(digits) }
        if point >= digits.count { return sign + String(digits) + String(repeating: "0", count: point - digits.count) + ".0" }
        return sign + String(digits[..<point]) + "." + String(digits[point...])
    }
    let mantissa = digits.count == 1 ? String(digits) : String(digits[0]) + "." + String(digits[1...])
    let magnitude = String(abs(decimalExponent))
    return sign + mantissa + "e" + (decimalExponent < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" : "") + magnitude
}

/// Python's `repr(str)`: single quotes unless the text has a `'` and no `"`; backslash escapes for the rest.
func pythonQuote(_ text: String) -> String {
    let quote: Unicode.Scalar = text.unicodeScalars.contains("'") && !text.unicodeScalars.contains("\"") ? "\"" : "'"
    var out = String.UnicodeScalarView()
    out.append(quote)
    for scalar in text.unicodeScalars {
        switch scalar {
        case quote, "\\": out.append("\\"); out.append(scalar)
        case "\n": out.append(contentsOf: "\\n".unicodeScalars)
        case "\r": out.append(contentsOf: "\\r".unicodeScalars)
        case "\t": out.append(contentsOf: "\\t".unicodeScalars)
        case _ where scalar.value < 0x20 || (0x7F...0xA0).contains(scalar.value):
            let hex = String(scalar.value, radix: 16)
            out.append(contentsOf: ("\\x" + (hex.count < 2 ? "0" : "") + hex).unicodeScalars)
        default: out.append(scalar)
        }
    }
    out.append(quote)
    return String(out)
}

// MARK: - JSON

/// The options of transformers' `tojson` filter (`json.dumps` with `ensure_ascii=False` by default).
struct JSONDumpOptions {
    var ensureASCII = false
    /// nil: one line; otherwise each level indented by this text (an int n means n spaces).
    var indent: String?
    var itemSeparator: String?
    var keySeparator = ": "
    var sortKeys = false
    /// The longest output (in UTF-8 bytes) allowed; a longer one fails while it is written.
    var limit = Int.max
}

/// Python's `json.dumps(value, ...)`; throws a message for values JSON cannot hold (undefined, macros, ...).
func jsonDump(_ value: Value, _ options: JSONDumpOptions, level: Int = 0, into out: inout String) throws(JinjaFailure) {
    let itemSeparator = options.itemSeparator ?? (options.indent == nil ? ", " : ",")
    func newline(_ level: Int) throws(JinjaFailure) {
        guard let indent = options.indent else { return }
        out += "\n" + String(repeating: indent, count: level)
        guard out.utf8.count <= options.limit else { throw .limit("a value grew past \(options.limit) characters") }
    }
    switch value {
    case .none: out += "null"
    case .bool(let flag): out += flag ? "true" : "false"
    case .int(let number): out += String(number)
    case .double(let number):
        out += number.isNaN ? "NaN" : number.isInfinite ? (number < 0 ? "-Infinity" : "Infinity") : pythonFloat(number)
    case .string(let text): jsonQuote(text, ensureASCII: options.ensureASCII, into: &out)
    case .array(let elements), .tuple(let elements):
        guard !elements.isEmpty else { out += "[]"; return }
        out += "["
        for (i, element) in elements.enumerated() {
            if i > 0 { out += itemSeparator }
            try newline(level + 1)
            try jsonDump(element, options, level: level + 1, into: &out)
        }
        try newline(level)
        out += "]"
    case .object(let object):
        guard object.count > 0 else { out += "{}"; return }
        out += "{"
        let keys = options.sortKeys ? object.keys.sorted { pythonCompare(.string($0), .string($1)) == -1 } : object.keys
        for (i, key) in keys.enumerated() {
            if i > 0 { out += itemSeparator }
            try newline(level + 1)
            jsonQuote(key, ensureASCII: options.ensureASCII, into: &out)
            out += options.keySeparator
            try jsonDump(object[key]!, options, level: level + 1, into: &out)
        }
        try newline(level)
        out += "}"
    default:
        throw JinjaFailure.type("Object of type \(value.typeName) is not JSON serializable")
    }
}

/// A JSON string literal as Python's `json` writes it: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other control
/// characters as `\u00XX`, and with `ensureASCII` everything past U+007F as `\uXXXX` (surrogate pairs above U+FFFF).
func jsonQuote(_ text: String, ensureASCII: Bool, into out: inout String) {
    func hex(_ unit: UInt32) -> String {
        let digits = String(unit, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
    }
    out += "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case _ where scalar.value < 0x20: out += hex(scalar.value)
        case _ where ensureASCII && scalar.value > 0x7E:
            if scalar.value > 0xFFFF {
                let v = scalar.value - 0x10000
                out += hex(0xD800 + (v >> 10)) + hex(0xDC00 + (v & 0x3FF))
            } else {
                out += hex(scalar.value)
            }
        default: out.unicodeScalars.append(scalar)
        }
    }
    out += "\""
}
