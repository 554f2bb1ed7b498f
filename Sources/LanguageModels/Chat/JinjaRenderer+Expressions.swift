import Foundation

// Expressions: names, literals, attribute and item access, slices, operators with Python's semantics, calls of
// macros, globals and methods.

extension JinjaRenderer {
    func evaluate(_ expression: JinjaExpression, in scope: JinjaScope, caller: Value? = nil) throws(JinjaFailure) -> Value {
        try charge()
        try enter()
        defer { nesting -= 1 }
        switch expression {
        case .literal(let value): return Value(value)
        case .name(let name): return scope.lookup(name) ?? .undefined(reason: "'\(name)' is undefined")
        case .list(let elements), .tuple(let elements):
            try checkSize(elements.count)
            var values: [Value] = []
            for element in elements { values.append(try evaluate(element, in: scope)) }
            let result: Value = if case .tuple = expression { .tuple(values) } else { .array(values) }
            _ = try measure(result)
            return result
        case .dict(let pairs):
            var object = JinjaOrderedDictionary<Value>()
            for pair in pairs {
                let key = try evaluate(pair.key, in: scope)
                guard case .string(let name) = key else {
                    throw .type("dictionary keys must be strings here, not \(key.typeName)")
                }
                object[name] = try evaluate(pair.value, in: scope)
            }
            _ = try measure(.object(object))
            return .object(object)
        case .attribute(let object, let name):
            return try attribute(name, of: try evaluate(object, in: scope))
        case .item(let object, let key):
            return try item(try evaluate(key, in: scope), of: try evaluate(object, in: scope))
        case .slice(let object, let start, let stop, let step):
            func bound(_ part: JinjaExpression?) throws(JinjaFailure) -> Int? {
                guard let part else { return nil }
                let value = try evaluate(part, in: scope)
                if case .none = value { return nil }
                guard let integer = value.integer else { throw .type("slice indices must be integers or None") }
                return integer
            }
            return try slice(try evaluate(object, in: scope), start: try bound(start), stop: try bound(stop),
                             step: try bound(step))
        case .call(let callee, let arguments):
            let function = try evaluate(callee, in: scope)
            let (positional, keyword) = try evaluate(arguments, in: scope)
            return try call(function, positional, keyword, caller: caller)
        case .filter(let value, let name, let arguments):
            let (positional, keyword) = try evaluate(arguments, in: scope)
            return try filter(name, try evaluate(value, in: scope), positional, keyword)
        case .test(let value, let name, let arguments, let negated):
            let (positional, _) = try evaluate(arguments, in: scope)
            let result = try test(name, try evaluate(value, in: scope), positional)
            return .bool(result != negated)
        case .not(let operand): return .bool(!(try evaluate(operand, in: scope).truthy))
        case .negate(let operand):
            switch try evaluate(operand, in: scope) {
            case .int(let value) where value != .min: return .int(-value)
            case .bool(let value): return .int(value ? -1 : 0)
            case .double(let value): return .double(-value)
            case .undefined(let reason): throw .type(reason)
            case let other: throw .type("bad operand type for unary -: '\(other.typeName)'")
            }
        case .plus(let operand):
            let value = try evaluate(operand, in: scope)
            guard value.number != nil else { throw .type("bad operand type for unary +: '\(value.typeName)'") }
            return value
        case .binary(let op, let left, let right):
            return try arithmetic(op, try evaluate(left, in: scope), try evaluate(right, in: scope))
        case .and(let left, let right):
            let first = try evaluate(left, in: scope)
            return first.truthy ? try evaluate(right, in: scope) : first
        case .or(let left, let right):
            let first = try evaluate(left, in: scope)
            return first.truthy ? first : try evaluate(right, in: scope)
        case .compare(let first, let chain):
            var left = try evaluate(first, in: scope)
            for (comparison, operand) in chain {
                let right = try evaluate(operand, in: scope)
                guard try compare(comparison, left, right) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .concat(let operands):
            var text = ""
            for operand in operands {
                let piece = try evaluate(operand, in: scope).pythonString
                try checkSize(piece.utf8.count)
                text += piece
                guard text.utf8.count <= limits.maximumValueSize else {
                    throw .limit("a value grew past \(limits.maximumValueSize) characters or items")
                }
            }
            return .string(text)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition, in: scope).truthy { return try evaluate(then, in: scope) }
            guard let otherwise else { return .undefined(reason: "the inline if has no else") }
            return try evaluate(otherwise, in: scope)
        }
    }

    func evaluate(_ arguments: JinjaArguments, in scope: JinjaScope) throws(JinjaFailure)
        -> ([Value], JinjaOrderedDictionary<Value>)
    {
        var positional: [Value] = []
        for argument in arguments.positional { positional.append(try evaluate(argument, in: scope)) }
        var keyword = JinjaOrderedDictionary<Value>()
        for (name, argument) in arguments.keyword { keyword[name] = try evaluate(argument, in: scope) }
        return (positional, keyword)
    }

    // MARK: - Access

    /// `value.name`: a method or attribute first, then an item; undefined when neither exists.
    func attribute(_ name: String, of value: Value) throws(JinjaFailure) -> Value {
        switch value {
        case .undefined(let reason): throw .type(reason)
        case .namespace(let namespace):
            return namespace.attributes[name] ?? .undefined(reason: "'Namespace' object has no attribute '\(name)'")
        case .loop(let loop):
            return loop.field(name) ?? .undefined(reason: "'LoopContext' object has no attribute '\(name)'")
        default:
            if let method = JinjaMethods.lookup(name, on: value) { return method }
            if case .object(let object) = value, let found = object[name] { return found }
            return .undefined(reason: "'\(value.typeName) object' has no attribute '\(name)'")
        }
    }

    /// `value[key]`: an item first, then (for a string key) an attribute; undefined when neither exists.
    func item(_ key: Value, of value: Value) throws(JinjaFailure) -> Value {
        switch (value, key) {
        case (.undefined(let reason), _): throw .type(reason)
        case (.object(let object), .string(let name)):
            if let found = object[name] { return found }
        case (.array(let elements), _) where key.integer != nil, (.tuple(let elements), _) where key.integer != nil:
            let index = key.integer! < 0 ? key.integer! + elements.count : key.integer!
            if elements.indices.contains(index) { return elements[index] }
        case (.string(let text), _) where key.integer != nil:
            let scalars = Array(text.unicodeScalars)
            let index = key.integer! < 0 ? key.integer! + scalars.count : key.integer!
            if scalars.indices.contains(index) { return .string(String(scalars[index])) }
        default: break
        }
        if case .string(let name) = key { return try attribute(name, of: value) }
        return .undefined(reason: "'\(value.typeName) object' has no item \(key.pythonRepr)")
    }

    /// Python's `sequence[start:stop:step]` on a list or a string.
    func slice(_ value: Value, start: Int?, stop: Int?, step: Int?) throws(JinjaFailure) -> Value {
        let step = step ?? 1
        guard step != 0 else { throw .type("slice step cannot be zero") }
        func indices(_ count: Int) -> [Int] {
            func clamp(_ bound: Int?, _ fallback: Int) -> Int {
                guard var index = bound else { return fallback }
                if index < 0 { index += count }
                return step > 0 ? min(max(index, 0), count) : min(max(index, -1), count - 1)
            }
            let first = clamp(start, step > 0 ? 0 : count - 1)
            let last = clamp(stop, step > 0 ? count : -1)
            return Array(stride(from: first, to: last, by: step))
        }
        switch value {
        case .array(let elements): return .array(indices(elements.count).map { elements[$0] })
        case .tuple(let elements): return .tuple(indices(elements.count).map { elements[$0] })
        case .string(let text):
            let scalars = Array(text.unicodeScalars)
            return .string(String(String.UnicodeScalarView(indices(scalars.count).map { scalars[$0] })))
        case .undefined(let reason): throw .type(reason)
        default: throw .type("'\(value.typeName)' object is not subscriptable")
        }
    }

    /// The items a `for` loop visits: a list's elements, a dict's keys, a string's characters; undefined is empty.
    func iterate(_ value: Value) throws(JinjaFailure) -> [Value] {
        switch value {
        case .undefined: return []
        case .array(let elements), .tuple(let elements): return elements
        case .object(let object): return object.keys.map(Value.string)
        case .string(let text): return text.unicodeScalars.map { .string(String($0)) }
        default: throw .type("'\(value.typeName)' object is not iterable")
        }
    }

    // MARK: - Operators

    func compare(_ comparison: JinjaComparison, _ left: Value, _ right: Value) throws(JinjaFailure) -> Bool {
        switch comparison {
        case .equal: return pythonEqual(left, right)
        case .notEqual: return !pythonEqual(left, right)
        case .contains: return try contains(right, left)
        case .notContains: return try !contains(right, left)
        default:
            guard let order = pythonCompare(left, right) else {
                throw .type("'\(comparison.rawValue)' not supported between instances of '\(left.typeName)' and "
                            + "'\(right.typeName)'")
            }
            switch comparison {
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            default: return order >= 0
            }
        }
    }

    /// Python's `item in container`.
    func contains(_ container: Value, _ item: Value) throws(JinjaFailure) -> Bool {
        switch container {
        case .undefined: return false
        case .string(let text):
            guard case .string(let part) = item else {
                throw .type("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return part.isEmpty || text.unicodeScalars.firstRange(of: part.unicodeScalars) != nil
        case .array(let elements), .tuple(let elements): return elements.contains { pythonEqual($0, item) }
        case .object(let object):
            guard case .string(let key) = item else { return false }
            return object[key] != nil
        default: throw .type("argument of type '\(container.typeName)' is not iterable")
        }
    }
}
