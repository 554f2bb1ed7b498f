/// A failure inside an expression, before the renderer adds the line it happened on.
enum JinjaFailure: Error {
    /// A wrong type or value, e.g. `'int' + 'str'`, an unknown filter.
    case type(String)
    /// `raise_exception(message)`.
    case raised(String)
    /// One of ``JinjaLimits`` was passed.
    case limit(String)
}

/// Renders parsed statements: one instance per render, holding the output, the scopes and the work counters that
/// ``JinjaLimits`` bounds.
final class JinjaRenderer {
    enum Flow { case normal, breakLoop, continueLoop }

    let limits: JinjaLimits
    let lineStarts: [Int]
    var output = ""
    /// Scalars written so far, counting text captured by `set` blocks, macros and filters.
    var written = 0
    var steps = 0
    var callDepth = 0
    /// Statements and expressions being evaluated, one inside the other (a bound on the stack this render uses).
    var nesting = 0
    /// The deepest `nesting` allowed: templates parse at most 200 levels deep, so only macros calling macros reach it.
    static let maximumNesting = 600
    var captureDepth = 0
    var offset = 0
    /// UTF-8 ranges of the top-level output written inside `{% generation %}`.
    var generationRanges: [Range<Int>] = []

    init(limits: JinjaLimits, lineStarts: [Int]) {
        (self.limits, self.lineStarts) = (limits, lineStarts)
    }

    var line: Int {
        var low = 0
        var high = lineStarts.count
        while low < high {
            let middle = (low + high) / 2
            if lineStarts[middle] <= offset { low = middle + 1 } else { high = middle }
        }
        return max(low, 1)
    }

    func error(_ failure: JinjaFailure) -> ChatTemplateError {
        switch failure {
        case .type(let message): .render(message: message, line: line)
        case .raised(let message): .raised(message: message)
        case .limit(let message): .limitExceeded(message: message, line: line)
        }
    }

    /// Counts `cost` steps of work, failing past the limit.
    func charge(_ cost: Int = 1) throws(JinjaFailure) {
        steps += cost
        if steps > limits.maximumSteps {
            throw .limit("the template ran more than \(limits.maximumSteps) steps (an endless or huge loop?)")
        }
    }

    /// Checks a string or list an expression built: its size, and the work it took.
    func enter() throws(JinjaFailure) {
        nesting += 1
        guard nesting <= Self.maximumNesting else {
            throw .limit("expressions and macro calls nested more than \(Self.maximumNesting) levels deep")
        }
    }

    func checkSize(_ size: Int) throws(JinjaFailure) {
        guard size <= limits.maximumValueSize else {
            throw .limit("a value grew past \(limits.maximumValueSize) characters or items")
        }
        try charge(1 + size / 64)
    }

    /// The deepest nesting of lists and dicts a template may build (JSON input is held to the same depth).
    static let maximumValueDepth = 64

    /// The size of `value` counted as Python would print it: one per element plus the UTF-8 bytes of its strings,
    /// shared elements counted each time. Fails past ``JinjaLimits/maximumValueSize`` or ``maximumValueDepth``
    /// without walking further, so a value built by doubling (`[x, x]` in a loop) cannot hang a later print.
    func measure(_ value: Value) throws(JinjaFailure) -> Int {
        var remaining = limits.maximumValueSize
        try measure(value, depth: 0, remaining: &remaining)
        let size = limits.maximumValueSize - remaining
        try charge(1 + size / 64)
        return size
    }

    private func measure(_ value: Value, depth: Int, remaining: inout Int) throws(JinjaFailure) {
        guard depth <= Self.maximumValueDepth else {
            throw .limit("lists and dicts nested more than \(Self.maximumValueDepth) levels deep")
        }
        func tooBig() -> JinjaFailure { .limit("a value grew past \(limits.maximumValueSize) characters or items") }
        remaining -= 1
        switch value {
        case .string(let text): remaining -= text.utf8.count
        case .array(let elements), .tuple(let elements):
            for element in elements {
                try measure(element, depth: depth + 1, remaining: &remaining)
                if remaining < 0 { throw tooBig() }
            }
        case .object(let object):
            for (key, element) in object.pairs {
                remaining -= key.utf8.count
                try measure(element, depth: depth + 1, remaining: &remaining)
                if remaining < 0 { throw tooBig() }
            }
        default: break
        }
        if remaining < 0 { throw tooBig() }
    }

    func write(_ text: String) throws(JinjaFailure) {
        let count = text.unicodeScalars.count
        written += count
        guard written <= limits.maximumOutput else {
            throw .limit("the output passed \(limits.maximumOutput) characters")
        }
        try charge(1 + count / 64)
        output += text
    }

    /// Runs `body` into a fresh buffer and returns what it wrote.
    func capture(_ body: () throws(ChatTemplateError) -> Void) throws(ChatTemplateError) -> String {
        let saved = output
        output = ""
        captureDepth += 1
        defer { captureDepth -= 1 }
        do {
            try body()
        } catch {
            output = saved
            throw error
        }
        let captured = output
        output = saved
        return captured
    }

    // MARK: - Statements

    func execute(_ statements: [JinjaStatement], in scope: JinjaScope) throws(ChatTemplateError) -> Flow {
        for statement in statements {
            let flow = try execute(statement, in: scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    /// Runs a body whose `break`/`continue` cannot escape (a macro, a `set` block).
    func executeBody(_ statements: [JinjaStatement], in scope: JinjaScope) throws(ChatTemplateError) {
        _ = try execute(statements, in: scope)
    }

    private func execute(_ statement: JinjaStatement, in scope: JinjaScope) throws(ChatTemplateError) -> Flow {
        do {
            try charge()
            try enter()
        } catch {
            throw self.error(error)
        }
        defer { nesting -= 1 }
        switch statement {
        case .text(let text):
            try attempt { () throws(JinjaFailure) in try write(text) }
        case .output(let expression, let at):
            offset = at
            try attempt { () throws(JinjaFailure) in try write(try evaluate(expression, in: scope).pythonString) }
        case .forLoop(let loop, let at):
            offset = at
            return try run(loop, in: scope)
        case .conditional(let branches, let otherwise, let at):
            for branch in branches {
                offset = at
                if try attempt({ () throws(JinjaFailure) in try evaluate(branch.condition, in: scope).truthy }) {
                    return try execute(branch.body, in: scope)
                }
            }
            return try execute(otherwise, in: scope)
        case .set(let target, let expression, let at):
            offset = at
            try attempt { () throws(JinjaFailure) in try assign(try evaluate(expression, in: scope), to: target, in: scope) }
        case .setBlock(let target, let filters, let body, let at):
            offset = at
            let text = try capture { () throws(ChatTemplateError) in try executeBody(body, in: JinjaScope(parent: scope)) }
            try attempt { () throws(JinjaFailure) in
                try assign(try applyFilters(filters, to: .string(text), in: scope), to: target, in: scope)
            }
        case .macro(let macro, let at):
            offset = at
            scope.variables[macro.name] = .callable(.macro(JinjaMacroClosure(macro: macro, scope: scope)))
        case .callBlock(let call, let parameters, let body, let at):
            offset = at
            let caller = JinjaMacro(name: "caller", parameters: parameters, body: body)
            let closure = JinjaMacroClosure(macro: caller, scope: scope, isCaller: true)
            try attempt { () throws(JinjaFailure) in
                try write(try evaluate(call, in: scope, caller: .callable(.macro(closure))).pythonString)
            }
        case .filterBlock(let filters, let body, let at):
            offset = at
            let text = try capture { () throws(ChatTemplateError) in try executeBody(body, in: JinjaScope(parent: scope)) }
            try attempt { () throws(JinjaFailure) in
                try write(try applyFilters(filters, to: .string(text), in: scope).pythonString)
            }
        case .with(let assignments, let body, let at):
            offset = at
            let inner = JinjaScope(parent: scope)
            for (target, expression) in assignments {
                try attempt { () throws(JinjaFailure) in try assign(try evaluate(expression, in: scope), to: target, in: inner) }
            }
            return try execute(body, in: inner)
        case .generation(let body, _):
            let start = output.utf8.count
            let flow = try execute(body, in: scope)
            if captureDepth == 0, output.utf8.count > start { generationRanges.append(start..<output.utf8.count) }
            return flow
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        }
        return .normal
    }

    /// Runs an expression-level step, adding the current line to its failure.
    func attempt<T>(_ body: () throws(JinjaFailure) -> T) throws(ChatTemplateError) -> T {
        do {
            return try body()
        } catch {
            throw self.error(error)
        }
    }

    func assign(_ value: Value, to target: JinjaTarget, in scope: JinjaScope) throws(JinjaFailure) {
        switch target {
        case .name(let name):
            scope.variables[name] = value
        case .tuple(let names):
            let elements = try unpack(value, count: names.count)
            for (name, element) in zip(names, elements) { scope.variables[name] = element }
        case .attribute(let object, let name):
            guard case .namespace(let namespace)? = scope.lookup(object) else {
                throw .type("cannot assign attribute on non-namespace object '\(object)'")
            }
            namespace.attributes[name] = value
        }
    }

    func unpack(_ value: Value, count: Int) throws(JinjaFailure) -> [Value] {
        let elements = try iterate(value)
        guard elements.count == count else {
            throw .type("cannot unpack \(elements.count) values into \(count) names")
        }
        return elements
    }

    private func run(_ loop: JinjaForLoop, in scope: JinjaScope) throws(ChatTemplateError) -> Flow {
        if loop.recursive { throw error(.type("recursive for loops are not supported")) }
        var items = try attempt { () throws(JinjaFailure) in try iterate(try evaluate(loop.iterable, in: scope)) }
        if let filter = loop.filter {
            var kept: [Value] = []
            for item in items {
                let inner = JinjaScope(parent: scope)
                let keep = try attempt { () throws(JinjaFailure) in
                    try assign(item, to: loop.target, in: inner)
                    return try evaluate(filter, in: inner).truthy
                }
                if keep { kept.append(item) }
            }
            items = kept
        }
        guard !items.isEmpty else { return try execute(loop.otherwise, in: scope) }
        for (index, item) in items.enumerated() {
            let inner = JinjaScope(parent: scope)
            try attempt { () throws(JinjaFailure) in
                try charge()
                try assign(item, to: loop.target, in: inner)
            }
            inner.variables["loop"] = .loop(JinjaLoop(index: index, items: items))
            if try execute(loop.body, in: inner) == .breakLoop { break }
        }
        return .normal
    }
}
