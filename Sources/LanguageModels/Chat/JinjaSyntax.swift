// The syntax tree of a parsed Jinja template: expressions and statements, each statement with the scalar offset of
// its tag so that a render error can name its line.

/// A Jinja expression.
indirect enum JinjaExpression: Sendable {
    case literal(JinjaValue)
    case name(String)
    case list([JinjaExpression])
    case tuple([JinjaExpression])
    case dict([(key: JinjaExpression, value: JinjaExpression)])
    /// `object.name`: an attribute first, then an item.
    case attribute(JinjaExpression, String)
    /// `object[key]`: an item first, then an attribute.
    case item(JinjaExpression, JinjaExpression)
    case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?)
    case call(JinjaExpression, JinjaArguments)
    /// `value | name(arguments)`.
    case filter(JinjaExpression, name: String, JinjaArguments)
    /// `value is [not] name(arguments)`.
    case test(JinjaExpression, name: String, JinjaArguments, negated: Bool)
    case not(JinjaExpression)
    case negate(JinjaExpression)
    case plus(JinjaExpression)
    case binary(JinjaBinaryOperator, JinjaExpression, JinjaExpression)
    case and(JinjaExpression, JinjaExpression)
    case or(JinjaExpression, JinjaExpression)
    /// A chain such as `a < b <= c`, each comparison against the previous operand.
    case compare(JinjaExpression, [(JinjaComparison, JinjaExpression)])
    /// `a ~ b ~ c`: the operands as strings, joined.
    case concat([JinjaExpression])
    /// `then if condition else otherwise` (`otherwise` nil: undefined).
    case conditional(condition: JinjaExpression, then: JinjaExpression, otherwise: JinjaExpression?)
}

enum JinjaBinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%", power = "**"
}

enum JinjaComparison: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case contains = "in", notContains = "not in"
}

/// The arguments of a call, a filter or a test: positional ones, then `name=value` ones.
struct JinjaArguments: Sendable {
    var positional: [JinjaExpression] = []
    var keyword: [(name: String, value: JinjaExpression)] = []
}

/// Where `for` and `set` put their values: a name, a tuple of names to unpack, or `namespace.attribute`.
enum JinjaTarget: Sendable {
    case name(String)
    case tuple([String])
    case attribute(object: String, name: String)
}

/// A macro parameter, with its default (evaluated at each call that leaves it out).
struct JinjaParameter: Sendable {
    var name: String
    var defaultValue: JinjaExpression?
}

/// A Jinja statement; `offset` is where its tag starts.
indirect enum JinjaStatement: Sendable {
    case text(String)
    case output(JinjaExpression, offset: Int)
    case forLoop(JinjaForLoop, offset: Int)
    case conditional([(condition: JinjaExpression, body: [JinjaStatement])], otherwise: [JinjaStatement], offset: Int)
    case set(JinjaTarget, JinjaExpression, offset: Int)
    /// `{% set name %}...{% endset %}`, optionally filtered.
    case setBlock(JinjaTarget, filters: [(name: String, JinjaArguments)], body: [JinjaStatement], offset: Int)
    case macro(JinjaMacro, offset: Int)
    /// `{% call macro(...) %}body{% endcall %}`: the macro runs with `caller()` rendering the body.
    case callBlock(JinjaExpression, parameters: [JinjaParameter], body: [JinjaStatement], offset: Int)
    case filterBlock([(name: String, JinjaArguments)], body: [JinjaStatement], offset: Int)
    /// `{% with a = 1 %}...{% endwith %}`: a scope with its own assignments.
    case with([(JinjaTarget, JinjaExpression)], body: [JinjaStatement], offset: Int)
    /// `{% generation %}...{% endgeneration %}` (transformers' marker of the assistant's text).
    case generation([JinjaStatement], offset: Int)
    case breakLoop(offset: Int)
    case continueLoop(offset: Int)
}

struct JinjaForLoop: Sendable {
    var target: JinjaTarget
    var iterable: JinjaExpression
    var filter: JinjaExpression?
    var body: [JinjaStatement]
    var otherwise: [JinjaStatement]
    var recursive: Bool
}

struct JinjaMacro: Sendable {
    var name: String
    var parameters: [JinjaParameter]
    var body: [JinjaStatement]
}
