/// Parses Jinja tokens into statements, as jinja2's parser does for the tags chat templates use: `for` (with `if`,
/// `else`, `recursive`), `if`/`elif`/`else`, `set` (with a value or a block), `macro`, `call`, `filter`, `with`,
/// `break`/`continue` and transformers' `generation`.
struct JinjaParser {
    var tokens: [JinjaToken]
    let map: JinjaSourceMap
    var position = 0
    var depth = 0
    /// The deepest nesting of blocks and expressions accepted (deeper templates are refused, not recursed into).
    static let maximumDepth = 200

    init(tokens: [JinjaToken], source: [Unicode.Scalar]) {
        self.tokens = tokens
        self.map = JinjaSourceMap(source: source)
    }

    static func parse(_ text: String) throws(ChatTemplateError) -> [JinjaStatement] {
        let (tokens, source) = try JinjaLexer.tokenize(text)
        var parser = JinjaParser(tokens: tokens, source: source)
        let (body, end) = try parser.statements(until: [])
        if let end { throw parser.fail("unexpected '\(end)' outside a block that it closes") }
        return body
    }

    /// jinja2's filter names (and transformers' `tojson`): another name is a syntax error, as in jinja2. A few of
    /// these fail when rendered (``JinjaRenderer/filter(_:_:_:_:)`` lists the ones supported).
    static let filterNames: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "join", "last",
        "length", "list", "lower", "items", "map", "min", "max", "pprint", "random", "reject", "rejectattr", "replace",
        "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title",
        "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr", "tojson",
    ]

    /// jinja2's test names.
    static let testNames: Set<String> = [
        "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean", "false", "true",
        "integer", "float", "lower", "upper", "string", "mapping", "number", "sequence", "iterable", "callable",
        "sameas", "escaped", "in", "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", "ge", ">=", "<", "lt",
        "lessthan", "<=", "le",
    ]

    /// A filter name, refused when jinja2 has no such filter.
    mutating func filterName() throws(ChatTemplateError) -> String {
        let start = position
        let name = try dottedName()
        guard Self.filterNames.contains(name) else {
            position = start
            throw fail("no filter named '\(name)'")
        }
        return name
    }

    // MARK: - Token helpers

    var current: JinjaToken { tokens[position] }
    var next: JinjaToken { tokens[min(position + 1, tokens.count - 1)] }

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    func fail(_ message: String) -> ChatTemplateError { map.syntaxError(message, at: current.offset) }

    func isOperator(_ op: String) -> Bool { current.kind == .op(op) }
    func isName(_ name: String) -> Bool { current.kind == .name(name) }

    mutating func skip(operator op: String) -> Bool {
        guard isOperator(op) else { return false }
        advance()
        return true
    }

    mutating func skip(name: String) -> Bool {
        guard isName(name) else { return false }
        advance()
        return true
    }

    mutating func expect(operator op: String) throws(ChatTemplateError) {
        guard skip(operator: op) else { throw fail("expected '\(op)', found \(describe(current))") }
    }

    mutating func expectName() throws(ChatTemplateError) -> String {
        guard case .name(let name) = current.kind else { throw fail("expected a name, found \(describe(current))") }
        advance()
        return name
    }

    mutating func expectBlockEnd() throws(ChatTemplateError) {
        guard current.kind == .blockEnd else { throw fail("expected the end of the tag %}, found \(describe(current))") }
        advance()
    }

    func describe(_ token: JinjaToken) -> String {
        switch token.kind {
        case .text: "text"
        case .variableBegin: "'{{'"
        case .variableEnd: "'}}'"
        case .blockBegin: "'{%'"
        case .blockEnd: "'%}'"
        case .name(let name): "'\(name)'"
        case .string: "a string"
        case .integer(let value): "\(value)"
        case .float(let value): "\(value)"
        case .op(let op): "'\(op)'"
        case .eof: "the end of the template"
        }
    }

    mutating func nest() throws(ChatTemplateError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw fail("nested more than \(Self.maximumDepth) levels deep") }
    }

    // MARK: - Statements

    /// Statements up to a block tag named in `ends` (left with the tag's name consumed), or to the end of the template.
    mutating func statements(until ends: Set<String>) throws(ChatTemplateError) -> ([JinjaStatement], String?) {
        try nest()
        defer { depth -= 1 }
        var body: [JinjaStatement] = []
        while true {
            let token = current
            switch token.kind {
            case .text(let text):
                body.append(.text(text))
                advance()
            case .variableBegin:
                advance()
                let expression = try tuple()
                guard current.kind == .variableEnd else { throw fail("expected '}}', found \(describe(current))") }
                advance()
                body.append(.output(expression, offset: token.offset))
            case .blockBegin:
                advance()
                guard case .name(let name) = current.kind else { throw fail("expected a tag name, found \(describe(current))") }
                if ends.contains(name) {
                    advance()
                    return (body, name)
                }
                body.append(try statement(name, offset: token.offset))
            case .eof:
                guard ends.isEmpty else {
                    throw fail("the template ends inside a block: expected one of \(ends.sorted().joined(separator: ", "))")
                }
                return (body, nil)
            default:
                throw fail("unexpected \(describe(token))")
            }
        }
    }

    /// A body that must end with one of `ends`; returns it and the tag that ended it.
    mutating func block(until ends: Set<String>) throws(ChatTemplateError) -> ([JinjaStatement], String) {
        let (body, end) = try statements(until: ends)
        return (body, end ?? "")
    }

    private mutating func statement(_ name: String, offset: Int) throws(ChatTemplateError) -> JinjaStatement {
        advance()
        switch name {
        case "for": return try forLoop(offset: offset)
        case "if": return try conditional(offset: offset)
        case "set": return try assignment(offset: offset)
        case "macro": return try macro(offset: offset)
        case "call": return try callBlock(offset: offset)
        case "filter":
            let filters = try filterChain()
            try expectBlockEnd()
            let (body, _) = try block(until: ["endfilter"])
            try expectBlockEnd()
            return .filterBlock(filters, body: body, offset: offset)
        case "with":
            var assignments: [(JinjaTarget, JinjaExpression)] = []
            while current.kind != .blockEnd {
                if !assignments.isEmpty { try expect(operator: ",") }
                let target = try assignTarget()
                try expect(operator: "=")
                assignments.append((target, try expression()))
            }
            try expectBlockEnd()
            let (body, _) = try block(until: ["endwith"])
            try expectBlockEnd()
            return .with(assignments, body: body, offset: offset)
        case "generation":
            try expectBlockEnd()
            let (body, _) = try block(until: ["endgeneration"])
            try expectBlockEnd()
            return .generation(body, offset: offset)
        case "break", "continue":
            try expectBlockEnd()
            return name == "break" ? .breakLoop(offset: offset) : .continueLoop(offset: offset)
        case "include", "import", "from", "extends", "block":
            position -= 1
            throw fail("'\(name)' is not supported in chat templates (there is no other template to load)")
        default:
            position -= 1
            throw fail("unknown tag '\(name)'")
        }
    }

    private mutating func forLoop(offset: Int) throws(ChatTemplateError) -> JinjaStatement {
        let target = try assignTarget()
        guard skip(name: "in") else { throw fail("expected 'in' in a for loop, found \(describe(current))") }
        let iterable = try tuple(conditional: false, endNames: ["recursive"])
        let filter = skip(name: "if") ? try expression() : nil
        let recursive = skip(name: "recursive")
        try expectBlockEnd()
        var (body, end) = try block(until: ["endfor", "else"])
        var otherwise: [JinjaStatement] = []
        if end == "else" {
            try expectBlockEnd()
            (otherwise, end) = try block(until: ["endfor"])
        }
        try expectBlockEnd()
        let loop = JinjaForLoop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise,
                                recursive: recursive)
        return .forLoop(loop, offset: offset)
    }

    private mutating func conditional(offset: Int) throws(ChatTemplateError) -> JinjaStatement {
        var branches: [(condition: JinjaExpression, body: [JinjaStatement])] = []
        var otherwise: [JinjaStatement] = []
        var condition = try tuple()
        while true {
            try expectBlockEnd()
            let (body, end) = try block(until: ["elif", "else", "endif"])
            branches.append((condition, body))
            if end == "elif" {
                condition = try tuple()
                continue
            }
            if end == "else" {
                try expectBlockEnd()
                (otherwise, _) = try block(until: ["endif"])
            }
            try expectBlockEnd()
            return .conditional(branches, otherwise: otherwise, offset: offset)
        }
    }

    private mutating func assignment(offset: Int) throws(ChatTemplateError) -> JinjaStatement {
        let target = try assignTarget()
        if skip(operator: "=") {
            let value = try tuple()
            try expectBlockEnd()
            return .set(target, value, offset: offset)
        }
        let filters = skip(operator: "|") ? try filterChain() : []
        try expectBlockEnd()
        let (body, _) = try block(until: ["endset"])
        try expectBlockEnd()
        return .setBlock(target, filters: filters, body: body, offset: offset)
    }

    /// `name`, `a, b` or `namespace.attribute`.
    private mutating func assignTarget() throws(ChatTemplateError) -> JinjaTarget {
        let first = try expectName()
        if skip(operator: ".") { return .attribute(object: first, name: try expectName()) }
        guard isOperator(",") else { return .name(first) }
        var names = [first]
        while skip(operator: ",") {
            guard case .name = current.kind else { break }
            names.append(try expectName())
        }
        return .tuple(names)
    }

    /// `(a, b=1, c=x)` as macro parameters.
    private mutating func parameters() throws(ChatTemplateError) -> [JinjaParameter] {
        var parameters: [JinjaParameter] = []
        try expect(operator: "(")
        while !skip(operator: ")") {
            if !parameters.isEmpty { try expect(operator: ",") }
            if skip(operator: ")") { break }
            let name = try expectName()
            let defaultValue = skip(operator: "=") ? try expression() : nil
            parameters.append(JinjaParameter(name: name, defaultValue: defaultValue))
        }
        return parameters
    }

    private mutating func macro(offset: Int) throws(ChatTemplateError) -> JinjaStatement {
        let name = try expectName()
        let parameters = try parameters()
        try expectBlockEnd()
        let (body, _) = try block(until: ["endmacro"])
        try expectBlockEnd()
        return .macro(JinjaMacro(name: name, parameters: parameters, body: body), offset: offset)
    }

    private mutating func callBlock(offset: Int) throws(ChatTemplateError) -> JinjaStatement {
        let parameters = isOperator("(") ? try parameters() : []
        let call = try expression()
        guard case .call = call else { throw fail("expected a macro call after 'call'") }
        try expectBlockEnd()
        let (body, _) = try block(until: ["endcall"])
        try expectBlockEnd()
        return .callBlock(call, parameters: parameters, body: body, offset: offset)
    }

    /// `name(args) | name2` after `filter` or `set x`.
    private mutating func filterChain() throws(ChatTemplateError) -> [(name: String, JinjaArguments)] {
        var filters: [(name: String, JinjaArguments)] = []
        repeat {
            let name = try filterName()
            filters.append((name, isOperator("(") ? try arguments() : JinjaArguments()))
        } while skip(operator: "|")
        return filters
    }
}
