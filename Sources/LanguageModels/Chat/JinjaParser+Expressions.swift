// Jinja expressions by precedence, lowest first, as jinja2's parser reads them: conditional (`a if c else b`), `or`,
// `and`, `not`, comparisons (`==`, `in`, `not in`, ...), `+ -`, `~`, `* / // %`, `**`, unary `- +`, then primaries
// with their postfixes (`.name`, `[key]`, `[a:b:c]`, calls) and filters and tests (`| name`, `is name`).

extension JinjaParser {
    /// Whether the current token ends a tuple: the end of a tag, a closing parenthesis or one of `endNames`.
    private func endsTuple(_ endNames: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .eof: return true
        case .op(let op): return op == ")"
        case .name(let name): return endNames.contains(name)
        default: return false
        }
    }

    /// `a`, or `a, b, ...` (a tuple); `explicitParentheses` allows the empty tuple `()`.
    mutating func tuple(conditional: Bool = true, endNames: Set<String> = [],
                        explicitParentheses: Bool = false) throws(ChatTemplateError) -> JinjaExpression {
        var elements: [JinjaExpression] = []
        var isTuple = false
        while true {
            if !elements.isEmpty { try expect(operator: ",") }
            if endsTuple(endNames) { break }
            elements.append(conditional ? try expression() : try or())
            if isOperator(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let first = elements.first { return first }
            if !explicitParentheses { throw fail("expected an expression, found \(describe(current))") }
        }
        return .tuple(elements)
    }

    /// A full expression, with the inline `x if c else y`.
    mutating func expression() throws(ChatTemplateError) -> JinjaExpression {
        try nest()
        defer { depth -= 1 }
        var result = try or()
        let saved = depth
        defer { depth = saved }
        while skip(name: "if") {
            try nest()
            let condition = try or()
            let otherwise = skip(name: "else") ? try expression() : nil
            result = .conditional(condition: condition, then: result, otherwise: otherwise)
        }
        return result
    }

    mutating func or() throws(ChatTemplateError) -> JinjaExpression {
        var left = try and()
        let saved = depth
        defer { depth = saved }
        while skip(name: "or") {
            try nest()
            left = .or(left, try and())
        }
        return left
    }

    private mutating func and() throws(ChatTemplateError) -> JinjaExpression {
        var left = try not()
        let saved = depth
        defer { depth = saved }
        while skip(name: "and") {
            try nest()
            left = .and(left, try not())
        }
        return left
    }

    private mutating func not() throws(ChatTemplateError) -> JinjaExpression {
        guard skip(name: "not") else { return try compare() }
        try nest()
        defer { depth -= 1 }
        return .not(try not())
    }

    private mutating func compare() throws(ChatTemplateError) -> JinjaExpression {
        let first = try additive()
        var chain: [(JinjaComparison, JinjaExpression)] = []
        while true {
            if case .op(let op) = current.kind, let comparison = JinjaComparison(rawValue: op), op != "in" {
                advance()
                chain.append((comparison, try additive()))
            } else if skip(name: "in") {
                chain.append((.contains, try additive()))
            } else if isName("not"), next.kind == .name("in") {
                advance()
                advance()
                chain.append((.notContains, try additive()))
            } else {
                break
            }
        }
        return chain.isEmpty ? first : .compare(first, chain)
    }

    private mutating func additive() throws(ChatTemplateError) -> JinjaExpression {
        var left = try concat()
        let saved = depth
        defer { depth = saved }
        while case .op(let op) = current.kind, op == "+" || op == "-" {
            try nest()
            advance()
            left = .binary(op == "+" ? .add : .subtract, left, try concat())
        }
        return left
    }

    private mutating func concat() throws(ChatTemplateError) -> JinjaExpression {
        var operands = [try multiplicative()]
        while skip(operator: "~") { operands.append(try multiplicative()) }
        return operands.count == 1 ? operands[0] : .concat(operands)
    }

    private mutating func multiplicative() throws(ChatTemplateError) -> JinjaExpression {
        var left = try power()
        let saved = depth
        defer { depth = saved }
        while case .op(let op) = current.kind, let binary = JinjaBinaryOperator(rawValue: op),
              [.multiply, .divide, .floorDivide, .modulo].contains(binary) {
            try nest()
            advance()
            left = .binary(binary, left, try power())
        }
        return left
    }

    private mutating func power() throws(ChatTemplateError) -> JinjaExpression {
        var left = try unary()
        let saved = depth
        defer { depth = saved }
        while skip(operator: "**") {
            try nest()
            left = .binary(.power, left, try unary())
        }
        return left
    }

    private mutating func unary(withFilters: Bool = true) throws(ChatTemplateError) -> JinjaExpression {
        try nest()
        defer { depth -= 1 }
        var node: JinjaExpression
        if skip(operator: "-") {
            node = .negate(try unary(withFilters: false))
        } else if skip(operator: "+") {
            node = .plus(try unary(withFilters: false))
        } else {
            node = try primary()
        }
        node = try postfix(node)
        return withFilters ? try filters(node) : node
    }

    // MARK: - Primaries and postfixes

    private mutating func primary() throws(ChatTemplateError) -> JinjaExpression {
        let token = current
        switch token.kind {
        case .name(let name):
            advance()
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name)
            }
        case .string(var text):
            advance()
            while case .string(let more) = current.kind {
                text += more
                advance()
            }
            return .literal(.string(text))
        case .integer(let value):
            advance()
            return .literal(.int(value))
        case .float(let value):
            advance()
            return .literal(.double(value))
        case .op("("):
            advance()
            let inner = try tuple(explicitParentheses: true)
            try expect(operator: ")")
            return inner
        case .op("["):
            advance()
            var elements: [JinjaExpression] = []
            while !skip(operator: "]") {
                if !elements.isEmpty { try expect(operator: ",") }
                if skip(operator: "]") { break }
                elements.append(try expression())
            }
            return .list(elements)
        case .op("{"):
            advance()
            var pairs: [(key: JinjaExpression, value: JinjaExpression)] = []
            while !skip(operator: "}") {
                if !pairs.isEmpty { try expect(operator: ",") }
                if skip(operator: "}") { break }
                let key = try expression()
                try expect(operator: ":")
                pairs.append((key, try expression()))
            }
            return .dict(pairs)
        default:
            throw fail("unexpected \(describe(token))")
        }
    }

    private mutating func postfix(_ start: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        var node = start
        let saved = depth
        defer { depth = saved }
        while true {
            try nest()
            if skip(operator: ".") {
                switch current.kind {
                case .name(let name): node = .attribute(node, name)
                case .integer(let index): node = .item(node, .literal(.int(index)))
                default: throw fail("expected a name after '.', found \(describe(current))")
                }
                advance()
            } else if skip(operator: "[") {
                var subscripts: [JinjaExpression] = []
                while !skip(operator: "]") {
                    if !subscripts.isEmpty { try expect(operator: ",") }
                    subscripts.append(try subscriptExpression(of: node))
                }
                guard let first = subscripts.first else { throw fail("expected a subscript inside []") }
                node = subscripts.count == 1 ? (isSlice(first, of: node) ? first : .item(node, first))
                    : .item(node, .tuple(subscripts))
            } else if isOperator("(") {
                node = .call(node, try arguments())
            } else {
                return node
            }
        }
    }

    private func isSlice(_ expression: JinjaExpression, of node: JinjaExpression) -> Bool {
        if case .slice = expression { return true }
        return false
    }

    /// `key`, or a slice `start:stop:step` with any part left out.
    private mutating func subscriptExpression(of node: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        var start: JinjaExpression?
        if !isOperator(":") {
            let key = try expression()
            guard isOperator(":") else { return key }
            start = key
        }
        advance()
        func part(_ parser: inout JinjaParser) throws(ChatTemplateError) -> JinjaExpression? {
            parser.isOperator(":") || parser.isOperator("]") || parser.isOperator(",") ? nil : try parser.expression()
        }
        let stop = try part(&self)
        var step: JinjaExpression?
        if skip(operator: ":") { step = try part(&self) }
        return .slice(node, start: start, stop: stop, step: step)
    }

    /// `(a, b, name=c)`.
    mutating func arguments() throws(ChatTemplateError) -> JinjaArguments {
        try expect(operator: "(")
        var arguments = JinjaArguments()
        var count = 0
        while !skip(operator: ")") {
            if count > 0 { try expect(operator: ",") }
            if skip(operator: ")") { break }
            if isOperator("*") || isOperator("**") { throw fail("*args and **kwargs in calls are not supported") }
            if case .name(let name) = current.kind, next.kind == .op("=") {
                advance()
                advance()
                arguments.keyword.append((name, try expression()))
            } else {
                guard arguments.keyword.isEmpty else { throw fail("a positional argument after a keyword argument") }
                arguments.positional.append(try expression())
            }
            count += 1
        }
        return arguments
    }

    /// A filter or test name, possibly dotted.
    mutating func dottedName() throws(ChatTemplateError) -> String {
        var name = try expectName()
        while skip(operator: ".") { name += "." + (try expectName()) }
        return name
    }

    /// `| filter(args)`, `is [not] test arg` and calls after them, in any order.
    private mutating func filters(_ start: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        var node = start
        let saved = depth
        defer { depth = saved }
        while true {
            try nest()
            if skip(operator: "|") {
                let name = try filterName()
                node = .filter(node, name: name, isOperator("(") ? try arguments() : JinjaArguments())
            } else if skip(name: "is") {
                let negated = skip(name: "not")
                let start = position
                let name = try dottedName()
                guard Self.testNames.contains(name) else {
                    position = start
                    throw fail("no test named '\(name)'")
                }
                var testArguments = JinjaArguments()
                if isOperator("(") {
                    testArguments = try arguments()
                } else if startsBareTestArgument {
                    if isName("is") { throw fail("tests cannot be chained with 'is'") }
                    testArguments.positional = [try postfix(try primary())]
                }
                node = .test(node, name: name, testArguments, negated: negated)
            } else if isOperator("(") {
                node = .call(node, try arguments())
            } else {
                return node
            }
        }
    }

    private var startsBareTestArgument: Bool {
        switch current.kind {
        case .name(let name): return !["else", "or", "and"].contains(name)
        case .string, .integer, .float: return true
        case .op(let op): return op == "(" || op == "[" || op == "{"
        default: return false
        }
    }
}
