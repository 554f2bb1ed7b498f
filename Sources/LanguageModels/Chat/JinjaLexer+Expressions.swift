import Foundation

// The tokens inside `{{ }}` and `{% %}`: names, numbers, strings and operators, as jinja2's lexer reads them.

extension JinjaLexer {
    private static let operators = ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(",
                                    ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"]

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }
    private static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isXIDStart
    }

    /// The token at `index`, which it consumes.
    mutating func expressionToken() throws(ChatTemplateError) -> JinjaToken.Kind {
        let scalar = source[index]
        if Self.isNameStart(scalar) {
            let start = index
            while index < source.count, source[index] == "_" || source[index].properties.isXIDContinue { index += 1 }
            return .name(String(String.UnicodeScalarView(source[start..<index])))
        }
        if Self.isDigit(scalar) { return try number() }
        if scalar == "'" || scalar == "\"" { return .string(try string()) }
        for op in Self.operators where matches(op) {
            index += op.unicodeScalars.count
            return .op(op)
        }
        throw error("unexpected character '\(scalar)'", at: index)
    }

    private func matches(_ text: String) -> Bool {
        var i = index
        for scalar in text.unicodeScalars {
            guard i < source.count, source[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    /// Digits with optional `_` separators.
    private mutating func digits() -> String {
        var text = ""
        while index < source.count {
            if Self.isDigit(source[index]) {
                text.unicodeScalars.append(source[index])
            } else if source[index] == "_", index + 1 < source.count, Self.isDigit(source[index + 1]), !text.isEmpty {
                // a separator between digits
            } else {
                break
            }
            index += 1
        }
        return text
    }

    /// `12`, `1_000`, `1.5`, `1e3`, `2.5e-7` (a float needs a fraction or an exponent).
    private mutating func number() throws(ChatTemplateError) -> JinjaToken.Kind {
        let start = index
        var text = digits()
        var isFloat = false
        let afterDot = start > 0 && source[start - 1] == "."  // `x.0.1` is two item lookups, as in jinja2
        if !afterDot, index + 1 < source.count, source[index] == ".", Self.isDigit(source[index + 1]) {
            index += 1
            text += "." + digits()
            isFloat = true
        }
        if !afterDot, index < source.count, source[index] == "e" || source[index] == "E" {
            var look = index + 1
            if look < source.count, source[look] == "+" || source[look] == "-" { look += 1 }
            if look < source.count, Self.isDigit(source[look]) {
                let sign = look > index + 1 ? String(source[index + 1]) : ""
                index = look
                text += "e" + sign + digits()
                isFloat = true
            }
        }
        if isFloat {
            guard let value = Double(text) else { throw error("invalid number", at: start) }
            return .float(value)
        }
        guard let value = Int(text) else { throw error("the integer \(text.prefix(30)) is too large", at: start) }
        return .integer(value)
    }

    /// A quoted string with Python's escapes (`\n`, `\t`, `\\`, `\'`, `\xNN`, `\uNNNN`, ...); an unknown escape keeps
    /// its backslash.
    private mutating func string() throws(ChatTemplateError) -> String {
        let start = index
        let quote = source[index]
        index += 1
        var out = String.UnicodeScalarView()
        while index < source.count, source[index] != quote {
            let scalar = source[index]
            index += 1
            guard scalar == "\\", index < source.count else { out.append(scalar); continue }
            let escape = source[index]
            index += 1
            switch escape {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "\\", "'", "\"": out.append(escape)
            case "\n": break
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var value = escape.value - 48
                var count = 1
                while count < 3, index < source.count, ("0"..."7").contains(source[index]) {
                    value = value * 8 + source[index].value - 48
                    index += 1
                    count += 1
                }
                out.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            case "x", "u", "U":
                let width = escape == "x" ? 2 : escape == "u" ? 4 : 8
                guard index + width <= source.count,
                      let value = UInt32(String(String.UnicodeScalarView(source[index..<index + width])), radix: 16),
                      let decoded = Unicode.Scalar(value)
                else { throw error("an invalid \\\(escape) escape in a string", at: index - 2) }
                out.append(decoded)
                index += width
            default:
                out.append("\\")
                out.append(escape)
            }
        }
        guard index < source.count else { throw error("a string that is never closed", at: start) }
        index += 1
        return String(out)
    }
}

/// Turns a scalar offset into the line, column and excerpt of a syntax error.
struct JinjaSourceMap {
    let source: [Unicode.Scalar]

    /// 1-based line and column of `offset`.
    func position(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, source.count) where source[i] == "\n" {
            line += 1
            lineStart = i + 1
        }
        return (line, offset - lineStart + 1)
    }

    func syntaxError(_ message: String, at offset: Int) -> ChatTemplateError {
        let (line, column) = position(of: offset)
        let start = max(0, min(offset, source.count) - 20)
        let end = min(source.count, offset + 20)
        let excerpt = String(String.UnicodeScalarView(source[start..<end])).replacingOccurrences(of: "\n", with: "\\n")
        return .syntax(message: message, line: line, column: column, excerpt: excerpt)
    }
}
