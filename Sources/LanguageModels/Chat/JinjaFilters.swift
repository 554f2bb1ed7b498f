// jinja2's built-in filters that chat templates use, and transformers' `tojson`.

extension JinjaRenderer {
    func applyFilters(_ filters: [(name: String, JinjaArguments)], to value: Value, in scope: JinjaScope)
        throws(JinjaFailure) -> Value
    {
        var result = value
        for (name, arguments) in filters {
            let (positional, keyword) = try evaluate(arguments, in: scope)
            result = try filter(name, result, positional, keyword)
        }
        return result
    }

    func filter(_ name: String, _ value: Value, _ positional: [Value], _ keyword: JinjaOrderedDictionary<Value>)
        throws(JinjaFailure) -> Value
    {
        func argument(_ index: Int, _ key: String) -> Value? {
            index < positional.count ? positional[index] : keyword[key]
        }
        func string(_ index: Int, _ key: String, _ fallback: String) -> String {
            argument(index, key)?.pythonString ?? fallback
        }
        let text = value.pythonString
        switch name {
        case "trim": return .string(pythonStrip(text, argument(0, "chars").map(\.pythonString)))
        case "upper": return .string(text.uppercased())
        case "lower": return .string(text.lowercased())
        case "title": return .string(jinjaTitle(text))
        case "capitalize": return .string(pythonCapitalize(text))
        case "string": return .string(text)
        case "safe", "e", "escape", "forceescape":
            guard name != "safe" else { return value }
            return .string(htmlEscape(text))
        case "replace":
            return .string(try pythonReplace(text, string(0, "old", ""), string(1, "new", ""),
                                             count: argument(2, "count")?.integer ?? -1, limit: limits.maximumValueSize))
        case "length", "count":
            switch value {
            case .string(let string): return .int(string.unicodeScalars.count)
            case .array(let elements), .tuple(let elements): return .int(elements.count)
            case .object(let object): return .int(object.count)
            case .undefined: return .int(0)
            default: throw .type("object of type '\(value.typeName)' has no len()")
            }
        case "default", "d":
            let fallback = argument(0, "default_value") ?? .string("")
            let boolean = argument(1, "boolean")?.truthy ?? false
            return value.isUndefined || (boolean && !value.truthy) ? fallback : value
        case "first", "last":
            let items = try iterate(value)
            let found = name == "first" ? items.first : items.last
            return found ?? .undefined(reason: "No \(name) item, sequence was empty.")
        case "list": return .array(try iterate(value))
        case "reverse":
            if case .string(let string) = value {
                return .string(String(String.UnicodeScalarView(string.unicodeScalars.reversed())))
            }
            return .array(try iterate(value).reversed())
        case "join":
            var items = try iterate(value)
            if let attribute = argument(1, "attribute") {
                items = try items.map { item throws(JinjaFailure) in try self.item(attribute, of: item) }
            }
            let separator = string(0, "d", "")
            var parts: [String] = []
            var size = 0
            for item in items {
                parts.append(item.pythonString)
                size += parts[parts.count - 1].utf8.count + separator.utf8.count
                try checkSize(size)
            }
            return .string(parts.joined(separator: separator))
        case "int":
            switch value {
            case .int: return value
            case .bool(let flag): return .int(flag ? 1 : 0)
            case .double(let number):
                return number.isFinite && abs(number) < 9e18 ? .int(Int(number)) : argument(0, "default") ?? .int(0)
            case .string(let string):
                let trimmed = pythonStrip(string, nil).replacingUnderscores
                if let integer = Int(trimmed) { return .int(integer) }
                if let number = Double(trimmed), number.isFinite, abs(number) < 9e18 { return .int(Int(number)) }
                return argument(0, "default") ?? .int(0)
            default: return argument(0, "default") ?? .int(0)
            }
        case "float":
            if let number = value.number { return .double(number) }
            if case .string(let string) = value, let number = Double(pythonStrip(string, nil)) { return .double(number) }
            return argument(0, "default") ?? .double(0)
        case "abs":
            switch value {
            case .int(let integer) where integer != .min: return .int(abs(integer))
            case .double(let number): return .double(abs(number))
            default: throw .type("bad operand type for abs(): '\(value.typeName)'")
            }
        case "round":
            guard let number = value.number else { throw .type("round() needs a number") }
            let digits = max(-400, min(400, argument(0, "precision")?.integer ?? 0))
            let method = string(1, "method", "common")
            let scale = pow10(digits)
            let scaled = number * scale
            let rounded = method == "floor" ? scaled.rounded(.down) : method == "ceil" ? scaled.rounded(.up)
                : scaled.rounded(.toNearestOrEven)  // Python's round() is round-half-even
            return .double(rounded / scale)
        case "items":
            if value.isUndefined { return .array([]) }
            guard case .object(let object) = value else { throw .type("can only get item pairs from a mapping") }
            return .array(object.pairs.map { .tuple([.string($0.key), $0.value]) })
        case "dictsort":
            guard case .object(let object) = value else { throw .type("dictsort needs a mapping") }
            let pairs = object.pairs.sorted { pythonCompare(.string($0.key.lowercased()), .string($1.key.lowercased())) == -1 }
            return .array(pairs.map { .tuple([.string($0.key), $0.value]) })
        case "indent": return .string(try indent(text, positional, keyword))
        case "tojson": return .string(try toJSON(value, positional, keyword))
        case "unique":
            var seen: [Value] = []
            for item in try iterate(value) where !seen.contains(where: { pythonEqual($0, item) }) { seen.append(item) }
            return .array(seen)
        case "sort":
            return .array(try sorted(try iterate(value), reverse: argument(0, "reverse")?.truthy ?? false,
                                     attribute: argument(2, "attribute")))
        case "sum":
            var total: Value = argument(1, "start") ?? .int(0)
            for item in try iterate(value) {
                let element = try argument(0, "attribute").map { key throws(JinjaFailure) in try self.item(key, of: item) } ?? item
                total = try arithmetic(.add, total, element)
            }
            return total
        case "min", "max":
            let items = try sorted(try iterate(value), reverse: false, attribute: argument(1, "attribute"))
            return (name == "min" ? items.first : items.last) ?? .undefined(reason: "No \(name) item, sequence was empty.")
        case "map", "select", "reject", "selectattr", "rejectattr":
            return .array(try select(name, try iterate(value), positional, keyword))
        case "wordcount":
            return .int(text.unicodeScalars.split(whereSeparator: isPythonSpace).count)
        default:
            throw .type("the filter '\(name)' is not supported here")
        }
    }

    private func pow10(_ digits: Int) -> Double {
        var scale = 1.0
        for _ in 0..<min(abs(digits), 300) { scale *= 10 }
        return digits < 0 ? 1 / scale : scale
    }

    /// Sorted by Python's ordering (strings case-insensitively, as jinja2's `sort` does by default).
    private func sorted(_ items: [Value], reverse: Bool, attribute: Value?) throws(JinjaFailure) -> [Value] {
        var keyed: [(key: Value, item: Value)] = []
        for item in items {
            var key = try attribute.map { name throws(JinjaFailure) in try self.item(name, of: item) } ?? item
            if case .string(let string) = key { key = .string(string.lowercased()) }
            keyed.append((key, item))
        }
        var failure: JinjaFailure?
        let result = keyed.enumerated().sorted { left, right in
            guard let order = pythonCompare(left.element.key, right.element.key) else {
                failure = .type("'<' not supported between instances of '\(left.element.key.typeName)' and "
                                + "'\(right.element.key.typeName)'")
                return false
            }
            return order == 0 ? left.offset < right.offset : (order < 0) != reverse
        }
        if let failure { throw failure }
        return result.map(\.element.item)
    }

    /// `map(attribute=...)`/`map('filter')`, `select('test')`, `reject`, `selectattr('attr', 'test', arg)`, `rejectattr`.
    private func select(_ name: String, _ items: [Value], _ positional: [Value], _ keyword: JinjaOrderedDictionary<Value>)
        throws(JinjaFailure) -> [Value]
    {
        if name == "map" {
            if let attribute = keyword["attribute"] {
                return try items.map { item throws(JinjaFailure) in
                    let found = try self.item(attribute, of: item)
                    return found.isUndefined ? keyword["default"] ?? found : found
                }
            }
            guard case .string(let filterName)? = positional.first else { throw .type("map() needs a filter name or attribute=") }
            let rest = Array(positional.dropFirst())
            return try items.map { item throws(JinjaFailure) in try filter(filterName, item, rest, JinjaOrderedDictionary()) }
        }
        let byAttribute = name.hasSuffix("attr")
        let keep = name.hasPrefix("select")
        var arguments = positional
        var attribute: Value?
        if byAttribute {
            guard !arguments.isEmpty else { throw .type("\(name)() needs an attribute name") }
            attribute = arguments.removeFirst()
        }
        let testName = arguments.isEmpty ? nil : arguments.removeFirst().pythonString
        var result: [Value] = []
        for item in items {
            let subject = try attribute.map { key throws(JinjaFailure) in try self.item(key, of: item) } ?? item
            let passes = try testName.map { test throws(JinjaFailure) in try self.test(test, subject, arguments) }
                ?? subject.truthy
            if passes == keep { result.append(item) }
        }
        return result
    }

    private func indent(_ text: String, _ positional: [Value], _ keyword: JinjaOrderedDictionary<Value>)
        throws(JinjaFailure) -> String
    {
        let widthValue = positional.first ?? keyword["width"] ?? .int(4)
        let lineCount = text.utf8.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let width = widthValue.integer ?? widthValue.pythonString.utf8.count
        let (added, overflowed) = lineCount.multipliedReportingOverflow(by: max(0, width))
        try checkSize(overflowed ? .max : text.utf8.count + added)
        let prefix = widthValue.integer.map { String(repeating: " ", count: max(0, $0)) } ?? widthValue.pythonString
        let first = (positional.count > 1 ? positional[1] : keyword["first"])?.truthy ?? false
        let blank = (positional.count > 2 ? positional[2] : keyword["blank"])?.truthy ?? false
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var trailingNewline = false
        if text.hasSuffix("\n") { lines.removeLast(); trailingNewline = true }
        guard !lines.isEmpty else { return text }
        for i in lines.indices where (i > 0 || first) && (blank || !pythonStrip(lines[i], nil).isEmpty) {
            lines[i] = prefix + lines[i]
        }
        return lines.joined(separator: "\n") + (trailingNewline ? "\n" : "")
    }

    /// transformers' `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
    private func toJSON(_ value: Value, _ positional: [Value], _ keyword: JinjaOrderedDictionary<Value>)
        throws(JinjaFailure) -> String
    {
        func argument(_ index: Int, _ key: String) -> Value? {
            index < positional.count ? positional[index] : keyword[key]
        }
        var options = JSONDumpOptions()
        options.ensureASCII = argument(0, "ensure_ascii")?.truthy ?? false
        switch argument(1, "indent") {
        case .int(let spaces)?:
            try checkSize(spaces)
            options.indent = String(repeating: " ", count: max(0, spaces))
        case .string(let indent)?: options.indent = indent
        default: break
        }
        if let separators = argument(2, "separators")?.elements, separators.count == 2 {
            options.itemSeparator = separators[0].pythonString
            options.keySeparator = separators[1].pythonString
        }
        options.sortKeys = argument(3, "sort_keys")?.truthy ?? false
        options.limit = limits.maximumValueSize
        var out = ""
        try jsonDump(value, options, into: &out)
        try checkSize(out.unicodeScalars.count)
        return out
    }
}

/// HTML escaping as markupsafe does it: `&`, `<`, `>`, `"`, `'`.
func htmlEscape(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&#34;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

extension String {
    /// Python's `int()` accepts `1_000`.
    fileprivate var replacingUnderscores: String { split(separator: "_").joined() }
}
