// The values a template computes with: the JSON-like ones plus jinja2's `Undefined`, namespaces, macros and bound
// methods, with Python's truthiness, equality, ordering, `str()` and `repr()`.

/// A value during a render.
enum Value {
    /// jinja2's default `Undefined`: prints as nothing, iterates as empty, is false, and fails when used further;
    /// `reason` says why, e.g. `'x' is undefined`.
    case undefined(reason: String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([Value])
    /// A Python tuple: `(a, b)`, `dict.items()` pairs, `varargs`; prints with parentheses, never equals a list.
    case tuple([Value])
    case object(JinjaOrderedDictionary<Value>)
    case namespace(JinjaNamespace)
    case callable(JinjaCallable)
    /// The `loop` variable of a `for` loop, its fields computed when read.
    case loop(JinjaLoop)

    init(_ value: JinjaValue) {
        switch value {
        case .none: self = .none
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .double(let value): self = .double(value)
        case .string(let value): self = .string(value)
        case .array(let elements): self = .array(elements.map(Value.init))
        case .object(let object): self = .object(object.mapValues(Value.init))
        }
    }

    /// The elements of a list or a tuple.
    var elements: [Value]? {
        switch self {
        case .array(let elements), .tuple(let elements): elements
        default: nil
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's `bool(value)`.
    var truthy: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let value): value
        case .int(let value): value != 0
        case .double(let value): value != 0
        case .string(let value): !value.isEmpty
        case .array(let elements), .tuple(let elements): !elements.isEmpty
        case .object(let object): object.count > 0
        case .namespace, .callable, .loop: true
        }
    }

    /// The Python type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: "Undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .array: "list"
        case .tuple: "tuple"
        case .object: "dict"
        case .namespace: "Namespace"
        case .callable: "function"
        case .loop: "LoopContext"
        }
    }

    /// A number as a Double (bools count as 0 and 1, as in Python), or nil.
    var number: Double? {
        switch self {
        case .bool(let value): value ? 1 : 0
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// An integer (bools count), or nil.
    var integer: Int? {
        switch self {
        case .bool(let value): value ? 1 : 0
        case .int(let value): value
        default: nil
        }
    }
}

/// `namespace(...)`: the one value a template can change in place (`{% set ns.x = 1 %}`), shared by reference.
final class JinjaNamespace {
    var attributes = JinjaOrderedDictionary<Value>()
}

/// Where a `for` loop is: `loop.index`, `loop.first`, `loop.cycle(...)` and the rest are read from it.
struct JinjaLoop {
    var index: Int
    var items: [Value]

    /// `loop.name`, or nil for a name loops do not have.
    func field(_ name: String) -> Value? {
        let count = items.count
        switch name {
        case "index": return .int(index + 1)
        case "index0": return .int(index)
        case "revindex": return .int(count - index)
        case "revindex0": return .int(count - index - 1)
        case "first": return .bool(index == 0)
        case "last": return .bool(index == count - 1)
        case "length": return .int(count)
        case "depth": return .int(1)
        case "depth0": return .int(0)
        case "previtem": return index > 0 ? items[index - 1] : .undefined(reason: "there is no previous item")
        case "nextitem": return index + 1 < count ? items[index + 1] : .undefined(reason: "there is no next item")
        case "cycle": return .callable(.cycle(index: index))
        default: return nil
        }
    }
}

/// A macro with the scope it was defined in.
final class JinjaMacroClosure {
    let macro: JinjaMacro
    let scope: JinjaScope
    /// The body of `{% call %}` as the macro's `caller`, when this closure is one.
    let isCaller: Bool

    init(macro: JinjaMacro, scope: JinjaScope, isCaller: Bool = false) {
        (self.macro, self.scope, self.isCaller) = (macro, scope, isCaller)
    }
}

/// Something a template can call.
enum JinjaCallable {
    /// `range`, `namespace`, `dict`, `raise_exception`, `strftime_now`.
    case global(String)
    /// A method bound to its receiver, e.g. `message.content.strip`.
    indirect case method(Value, String)
    case macro(JinjaMacroClosure)
    /// `loop.cycle(...)` at the given iteration.
    case cycle(index: Int)
    /// A method the sandbox forbids (`list.append`, `dict.update`, ...).
    case unsafe(name: String, typeName: String)
}

/// A scope of variables; lookups walk to the enclosing scopes.
final class JinjaScope {
    var variables: [String: Value] = [:]
    let parent: JinjaScope?

    init(parent: JinjaScope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var scope: JinjaScope? = self
        while let current = scope {
            if let value = current.variables[name] { return value }
            scope = current.parent
        }
        return nil
    }
}

// MARK: - Python equality and ordering

/// Python's `a == b` (numbers compare across int, float and bool; strings by code points).
func pythonEqual(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): return true
    case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
    case (.array(let x), .array(let y)), (.tuple(let x), .tuple(let y)): return x.count == y.count && zip(x, y).allSatisfy { pythonEqual($0, $1) }
    case (.object(let x), .object(let y)):
        return x.count == y.count && x.pairs.allSatisfy { pair in y[pair.key].map { pythonEqual(pair.value, $0) } ?? false }
    case (.namespace(let x), .namespace(let y)): return x === y
    default:
        if let x = a.integer, let y = b.integer { return x == y }
        if let x = a.number, let y = b.number { return x == y }
        return false
    }
}

/// Python's ordering of two values: numbers, strings (by code points) and lists; nil for types Python cannot order.
func pythonCompare(_ a: Value, _ b: Value) -> Int? {
    switch (a, b) {
    case (.string(let x), .string(let y)):
        var left = x.unicodeScalars.makeIterator()
        var right = y.unicodeScalars.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let l?, let r?): if l != r { return l.value < r.value ? -1 : 1 }
            }
        }
    case (.array(let x), .array(let y)), (.tuple(let x), .tuple(let y)):
        for (l, r) in zip(x, y) where !pythonEqual(l, r) { return pythonCompare(l, r) }
        return x.count == y.count ? 0 : x.count < y.count ? -1 : 1
    default:
        if let x = a.integer, let y = b.integer { return x == y ? 0 : x < y ? -1 : 1 }
        guard let x = a.number, let y = b.number else { return nil }
        return x == y ? 0 : x < y ? -1 : 1
    }
}
