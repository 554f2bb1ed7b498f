import Foundation

// Arithmetic with Python's rules, and calls: macros (with `caller`), the globals transformers defines and bound
// methods.

extension JinjaRenderer {
    func arithmetic(_ op: JinjaBinaryOperator, _ left: Value, _ right: Value) throws(JinjaFailure) -> Value {
        if case .undefined(let reason) = left { throw .type(reason) }
        if case .undefined(let reason) = right { throw .type(reason) }
        func overflow() -> JinjaFailure { .type("integer overflow in '\(op.rawValue)'") }
        switch (op, left, right) {
        case (.add, .string(let a), .string(let b)):
            try checkSize(a.unicodeScalars.count + b.unicodeScalars.count)
            return .string(a + b)
        case (.add, .array(let a), .array(let b)):
            try checkSize(a.count + b.count)
            _ = try measure(.array(a + b))
            return .array(a + b)
        case (.multiply, .string(let text), _) where right.integer != nil,
             (.multiply, _, .string(let text)) where left.integer != nil:
            let count = max(0, (right.integer ?? left.integer)!)
            let (size, overflowed) = text.unicodeScalars.count.multipliedReportingOverflow(by: count)
            try checkSize(overflowed ? .max : size)
            return .string(String(repeating: text, count: count))
        case (.multiply, .array(let elements), _) where right.integer != nil:
            let count = max(0, right.integer!)
            let (size, overflowed) = try measure(.array(elements)).multipliedReportingOverflow(by: count)
            try checkSize(overflowed ? .max : size)
            return .array(Array([[Value]](repeating: elements, count: count).joined()))
        default: break
        }
        if let a = left.integer, let b = right.integer {
            switch op {
            case .add:
                let (sum, overflowed) = a.addingReportingOverflow(b)
                if overflowed { throw overflow() }
                return .int(sum)
            case .subtract:
                let (difference, overflowed) = a.subtractingReportingOverflow(b)
                if overflowed { throw overflow() }
                return .int(difference)
            case .multiply:
                let (product, overflowed) = a.multipliedReportingOverflow(by: b)
                if overflowed { throw overflow() }
                return .int(product)
            case .divide:
                guard b != 0 else { throw .type("division by zero") }
                return .double(Double(a) / Double(b))
            case .floorDivide, .modulo:
                guard b != 0 else { throw .type("integer division or modulo by zero") }
                guard !(a == .min && b == -1) else { throw overflow() }
                var quotient = a / b
                var remainder = a % b
                if remainder != 0, (remainder < 0) != (b < 0) {
                    quotient -= 1
                    remainder += b
                }
                return .int(op == .floorDivide ? quotient : remainder)
            case .power:
                guard b >= 0 else { return .double(pow(Double(a), Double(b))) }
                var (result, base, exponent) = (1, a, b)
                while exponent > 0 {
                    if exponent & 1 == 1 {
                        let (product, overflowed) = result.multipliedReportingOverflow(by: base)
                        if overflowed { throw overflow() }
                        result = product
                    }
                    exponent >>= 1
                    if exponent > 0 {
                        let (square, overflowed) = base.multipliedReportingOverflow(by: base)
                        if overflowed { throw overflow() }
                        base = square
                    }
                }
                return .int(result)
            }
        }
        guard let a = left.number, let b = right.number else {
            throw .type("unsupported operand type(s) for \(op.rawValue): '\(left.typeName)' and '\(right.typeName)'")
        }
        switch op {
        case .add: return .double(a + b)
        case .subtract: return .double(a - b)
        case .multiply: return .double(a * b)
        case .divide:
            guard b != 0 else { throw .type("float division by zero") }
            return .double(a / b)
        case .floorDivide:
            guard b != 0 else { throw .type("float floor division by zero") }
            return .double((a / b).rounded(.down))
        case .modulo:
            guard b != 0 else { throw .type("float modulo") }
            let remainder = fmod(a, b)
            return .double(remainder != 0 && (remainder < 0) != (b < 0) ? remainder + b : remainder)
        case .power: return .double(pow(a, b))
        }
    }

    // MARK: - Calls

    func call(_ function: Value, _ positional: [Value], _ keyword: JinjaOrderedDictionary<Value>,
              caller: Value? = nil) throws(JinjaFailure) -> Value {
        guard case .callable(let callable) = function else {
            if case .undefined(let reason) = function { throw .type(reason) }
            throw .type("'\(function.typeName)' object is not callable")
        }
        switch callable {
        case .global(let name): return try callGlobal(name, positional, keyword)
        case .method(let receiver, let name): return try JinjaMethods.call(name, on: receiver, positional, keyword, self)
        case .macro(let closure): return try callMacro(closure, positional, keyword, caller: caller)
        case .cycle(let index):
            guard !positional.isEmpty else { throw .type("no items for cycling given") }
            return positional[index % positional.count]
        case .unsafe(let name, let typeName):
            throw .type("access to attribute '\(name)' of '\(typeName)' object is unsafe.")
        }
    }

    private func callMacro(_ closure: JinjaMacroClosure, _ positional: [Value], _ keyword: JinjaOrderedDictionary<Value>,
                           caller: Value?) throws(JinjaFailure) -> Value {
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= limits.maximumCallDepth else {
            throw .limit("macros nested more than \(limits.maximumCallDepth) calls deep (endless recursion?)")
        }
        let macro = closure.macro
        let scope = JinjaScope(parent: closure.scope)
        var keyword = keyword
        for (index, parameter) in macro.parameters.enumerated() {
            if index < positional.count {
                scope.variables[parameter.name] = positional[index]
            } else if let value = keyword[parameter.name] {
                scope.variables[parameter.name] = value
                keyword[parameter.name] = nil
            } else if let defaultValue = parameter.defaultValue {
                scope.variables[parameter.name] = try evaluate(defaultValue, in: scope)
            } else {
                scope.variables[parameter.name] = .undefined(reason: "parameter '\(parameter.name)' was not provided")
            }
        }
        scope.variables["varargs"] = .tuple(Array(positional.dropFirst(macro.parameters.count)))
        scope.variables["kwargs"] = .object(keyword)
        if let caller { scope.variables["caller"] = caller }
        let savedOffset = offset
        defer { offset = savedOffset }
        do {
            let text = try capture { () throws(ChatTemplateError) in try executeBody(macro.body, in: scope) }
            return .string(text)
        } catch {
            switch error {
            case .raised(let message): throw .raised(message)
            case .limitExceeded(let message, _): throw .limit(message)
            case .render(let message, _): throw .type(message)
            default: throw .type(error.description)
            }
        }
    }

    private func callGlobal(_ name: String, _ positional: [Value], _ keyword: JinjaOrderedDictionary<Value>)
        throws(JinjaFailure) -> Value
    {
        switch name {
        case "range":
            let bounds = positional.compactMap(\.integer)
            guard bounds.count == positional.count, (1...3).contains(bounds.count) else {
                throw .type("range() takes 1 to 3 integer arguments")
            }
            let (start, stop) = bounds.count == 1 ? (0, bounds[0]) : (bounds[0], bounds[1])
            let step = bounds.count == 3 ? bounds[2] : 1
            guard step != 0 else { throw .type("range() arg 3 must not be zero") }
            let span = (Double(stop) - Double(start)) / Double(step)
            guard span <= Double(limits.maximumRange) else {
                throw .limit("range too big: the sandbox allows at most \(limits.maximumRange) items")
            }
            try checkSize(span <= 0 ? 0 : Int(span.rounded(.up)))
            var values: [Value] = []
            var next = start
            while step > 0 ? next < stop : next > stop {
                values.append(.int(next))
                let (advanced, overflowed) = next.addingReportingOverflow(step)
                if overflowed { break }
                next = advanced
            }
            return .array(values)
        case "namespace":
            let namespace = JinjaNamespace()
            if case .object(let initial)? = positional.first { namespace.attributes = initial }
            for (key, value) in keyword.pairs { namespace.attributes[key] = value }
            return .namespace(namespace)
        case "dict":
            var object = JinjaOrderedDictionary<Value>()
            if case .object(let initial)? = positional.first { object = initial }
            for (key, value) in keyword.pairs { object[key] = value }
            _ = try measure(.object(object))
            return .object(object)
        case "raise_exception":
            throw .raised(positional.first?.pythonString ?? "")
        case "strftime_now":
            guard case .string(let format)? = positional.first else { throw .type("strftime_now() needs a format string") }
            return .string(pythonStrftime(format, Date()))
        default:
            throw .type("'\(name)' is not callable")
        }
    }
}

/// Python's `datetime.strftime` for the directives date templates use (`%Y %m %d %B %b %A %a %H %I %M %S %p %j %y
/// %e %%`), in English and the local time zone.
func pythonStrftime(_ format: String, _ date: Date) -> String {
    let calendar = Calendar(identifier: .gregorian)
    let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
    let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December"]
    let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    let (year, month, day) = (parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    let (hour, minute, second, weekday) = (parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0, parts.weekday ?? 1)
    var out = ""
    var iterator = format.makeIterator()
    while let character = iterator.next() {
        guard character == "%", let directive = iterator.next() else { out.append(character); continue }
        switch directive {
        case "Y": out += String(year)
        case "y": out += two(year % 100)
        case "m": out += two(month)
        case "d": out += two(day)
        case "e": out += (day < 10 ? " " : "") + String(day)
        case "B": out += months[month - 1]
        case "b": out += String(months[month - 1].prefix(3))
        case "A": out += days[weekday - 1]
        case "a": out += String(days[weekday - 1].prefix(3))
        case "H": out += two(hour)
        case "I": out += two(hour % 12 == 0 ? 12 : hour % 12)
        case "p": out += hour < 12 ? "AM" : "PM"
        case "M": out += two(minute)
        case "S": out += two(second)
        case "j":
            let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
            out += String(repeating: "0", count: 3 - String(dayOfYear).count) + String(dayOfYear)
        case "%": out += "%"
        default: out += "%" + String(directive)
        }
    }
    return out
}
