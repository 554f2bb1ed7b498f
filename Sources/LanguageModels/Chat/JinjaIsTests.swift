// jinja2's tests, the names after `is`: `defined`, `none`, `string`, `mapping`, `iterable`, `divisibleby 3`, ...

extension JinjaRenderer {
    func test(_ name: String, _ value: Value, _ arguments: [Value]) throws(JinjaFailure) -> Bool {
        func other() throws(JinjaFailure) -> Value {
            guard let first = arguments.first else { throw .type("the test '\(name)' needs an argument") }
            return first
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none":
            if case .none = value { return true }
            return false
        case "boolean":
            if case .bool = value { return true }
            return false
        case "true", "false":
            if case .bool(let flag) = value { return flag == (name == "true") }
            return false
        case "string":
            if case .string = value { return true }
            return false
        case "number":
            switch value {
            case .int, .double, .bool: return true
            default: return false
            }
        case "integer":
            if case .int = value { return true }
            return false
        case "float":
            if case .double = value { return true }
            return false
        case "mapping":
            if case .object = value { return true }
            return false
        case "sequence":
            switch value {
            case .string, .array, .tuple, .object: return true
            default: return false
            }
        case "iterable":
            switch value {
            case .string, .array, .tuple, .object, .undefined: return true
            default: return false
            }
        case "callable":
            if case .callable = value { return true }
            return false
        case "even", "odd":
            guard let integer = value.integer else { throw .type("the test '\(name)' needs an integer") }
            return (integer % 2 == 0) == (name == "even")
        case "divisibleby":
            guard let integer = value.integer, let divisor = try other().integer, divisor != 0 else {
                throw .type("divisibleby needs a non-zero integer")
            }
            return integer % divisor == 0
        case "eq", "equalto", "==": return pythonEqual(value, try other())
        case "ne", "!=": return !pythonEqual(value, try other())
        case "lt", "lessthan", "<": return try compare(.less, value, try other())
        case "le", "<=": return try compare(.lessOrEqual, value, try other())
        case "gt", "greaterthan", ">": return try compare(.greater, value, try other())
        case "ge", ">=": return try compare(.greaterOrEqual, value, try other())
        case "in": return try contains(try other(), value)
        case "sameas":
            let target = try other()
            switch (value, target) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        case "lower": return value.pythonString.lowercased() == value.pythonString
        case "upper": return value.pythonString.uppercased() == value.pythonString
        case "escaped": return false
        default: throw .type("the test '\(name)' is not supported here")
        }
    }
}
