/// One token of a Jinja template; `offset` counts Unicode scalars from the start of the (newline-normalized) source.
struct JinjaToken: Equatable {
    enum Kind: Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
        case eof
    }

    var kind: Kind
    var offset: Int
}

/// Python's `str.isspace()` for one scalar (what `\s` and `strip()` treat as whitespace).
func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
}

/// Splits a template into tokens as jinja2's lexer does with `trim_blocks` and `lstrip_blocks` on: `-` strips all
/// whitespace on its side of a tag, `+` keeps it, a block or comment tag alone on its line takes the line's indentation
/// and its newline with it; `\r\n` and `\r` become `\n` and one trailing newline is dropped.
struct JinjaLexer {
    let source: [Unicode.Scalar]
    var index = 0
    private var tokens: [JinjaToken] = []
    private var lineStarting = true

    init(_ text: String) {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.unicodeScalars.count)
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n", previousCR { previousCR = false; continue }
            previousCR = scalar == "\r"
            scalars.append(previousCR ? "\n" : scalar)
        }
        if scalars.last == "\n" { scalars.removeLast() }
        source = scalars
    }

    static func tokenize(_ text: String) throws(ChatTemplateError) -> (tokens: [JinjaToken], source: [Unicode.Scalar]) {
        var lexer = JinjaLexer(text)
        try lexer.run()
        return (lexer.tokens, lexer.source)
    }

    func error(_ message: String, at offset: Int) -> ChatTemplateError {
        JinjaSourceMap(source: source).syntaxError(message, at: offset)
    }

    func starts(with prefix: String, at position: Int) -> Bool {
        var i = position
        for scalar in prefix.unicodeScalars {
            guard i < source.count, source[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    // MARK: - Text and tags

    private mutating func run() throws(ChatTemplateError) {
        while index < source.count {
            guard let open = nextOpening(from: index) else {
                emitText(String(String.UnicodeScalarView(source[index...])), at: index)
                break
            }
            let (start, kind) = open
            var text = Array(source[index..<start])
            let signIndex = start + 2
            let sign: Unicode.Scalar? = signIndex < source.count && (source[signIndex] == "-" || source[signIndex] == "+")
                ? source[signIndex] : nil
            if sign == "-" {
                while let last = text.last, isPythonSpace(last) { text.removeLast() }
            } else if sign != "+", kind != "{" {
                let lineStart = (text.lastIndex(of: "\n") ?? -1) + 1
                if lineStart > 0 || lineStarting, text[lineStart...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                    text.removeSubrange(lineStart...)
                }
            }
            emitText(String(String.UnicodeScalarView(text)), at: index)
            index = start + 2 + (sign == nil ? 0 : 1)
            switch kind {
            case "#": try comment(start: start)
            case "{": try tag(start: start, isBlock: false)
            default:
                if try !rawBlock(start: start) { try tag(start: start, isBlock: true) }
            }
        }
        tokens.append(JinjaToken(kind: .eof, offset: source.count))
    }

    private mutating func emitText(_ text: String, at offset: Int) {
        if !text.isEmpty { tokens.append(JinjaToken(kind: .text(text), offset: offset)) }
    }

    /// The next `{{`, `{%` or `{#` at or after `position`, and its second character.
    private func nextOpening(from position: Int) -> (Int, Unicode.Scalar)? {
        var i = position
        while i + 1 < source.count {
            if source[i] == "{", source[i + 1] == "{" || source[i + 1] == "%" || source[i + 1] == "#" {
                return (i, source[i + 1])
            }
            i += 1
        }
        return nil
    }

    /// Consumes the end of a tag at `index` (`}}`, `%}` or `#}`, `end` being its first character) with its
    /// whitespace control; returns false when there is none.
    private mutating func tagEnd(_ end: Unicode.Scalar, trims: Bool) -> Bool {
        let closing = String(end) + "}"
        if starts(with: "-" + closing, at: index) {
            index += 3
            while index < source.count, isPythonSpace(source[index]) { index += 1 }
        } else if end != "}", starts(with: "+" + closing, at: index) {
            index += 3
        } else if starts(with: closing, at: index) {
            index += 2
            if trims, index < source.count, source[index] == "\n" { index += 1 }
        } else {
            return false
        }
        lineStarting = index > 0 && source[index - 1] == "\n"
        return true
    }

    private mutating func comment(start: Int) throws(ChatTemplateError) {
        while index < source.count {
            if tagEnd("#", trims: true) { return }
            index += 1
        }
        throw error("a comment that is never closed with #}", at: start)
    }

    /// `{% raw %}...{% endraw %}`: the text in between is output as it is. Returns false when the tag is not `raw`.
    private mutating func rawBlock(start: Int) throws(ChatTemplateError) -> Bool {
        var i = index
        while i < source.count, isPythonSpace(source[i]) { i += 1 }
        guard starts(with: "raw", at: i) else { return false }
        i += 3
        while i < source.count, isPythonSpace(source[i]) { i += 1 }
        let saved = index
        index = i
        guard tagEnd("%", trims: true) else { index = saved; return false }
        let bodyStart = index
        while let (open, kind) = nextOpening(from: index) {
            index = open + 2
            guard kind == "%" else { continue }
            var body = Array(source[bodyStart..<open])
            if index < source.count, source[index] == "-" {
                index += 1
                while let last = body.last, isPythonSpace(last) { body.removeLast() }
            }
            while index < source.count, isPythonSpace(source[index]) { index += 1 }
            guard starts(with: "endraw", at: index) else { continue }
            index += 6
            while index < source.count, isPythonSpace(source[index]) { index += 1 }
            guard tagEnd("%", trims: true) else { throw error("expected %} after endraw", at: index) }
            emitText(String(String.UnicodeScalarView(body)), at: bodyStart)
            return true
        }
        throw error("a raw block that is never closed with {% endraw %}", at: start)
    }

    /// The tokens of an expression or a statement, up to its closing `}}` or `%}` (outside any brackets).
    private mutating func tag(start: Int, isBlock: Bool) throws(ChatTemplateError) {
        tokens.append(JinjaToken(kind: isBlock ? .blockBegin : .variableBegin, offset: start))
        var brackets: [Unicode.Scalar] = []
        while true {
            while index < source.count, isPythonSpace(source[index]) { index += 1 }
            guard index < source.count else {
                throw error("a tag that is never closed with \(isBlock ? "%}" : "}}")", at: start)
            }
            let tokenStart = index
            if brackets.isEmpty, tagEnd(isBlock ? "%" : "}", trims: isBlock) {
                tokens.append(JinjaToken(kind: isBlock ? .blockEnd : .variableEnd, offset: tokenStart))
                return
            }
            let kind = try expressionToken()
            if case .op(let op) = kind {
                switch op {
                case "(", "[", "{": brackets.append(op.unicodeScalars.first!)
                case ")", "]", "}":
                    let expected: Unicode.Scalar = op == ")" ? "(" : op == "]" ? "[" : "{"
                    guard brackets.popLast() == expected else { throw error("unexpected '\(op)'", at: tokenStart) }
                default: break
                }
            }
            tokens.append(JinjaToken(kind: kind, offset: tokenStart))
        }
    }
}
