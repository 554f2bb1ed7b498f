// The Python methods a template may call on strings, dicts and lists (`message.content.strip()`,
// `message.get('name')`, `tool.items()`), and the mutating ones the sandbox refuses.

enum JinjaMethods {
    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit", "splitlines", "upper", "lower",
        "replace", "title", "capitalize", "format", "join", "find", "rfind", "count", "isdigit", "isalpha", "isalnum",
        "isspace", "islower", "isupper", "removeprefix", "removesuffix",
    ]
    static let dictMethods: Set<String> = ["get", "items", "keys", "values", "copy"]
    static let listMethods: Set<String> = ["index", "count", "copy"]
    static let mutatingMethods: Set<String> = [
        "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault", "popitem",
    ]

    /// The bound method `name` of `value`, or nil when it has none.
    static func lookup(_ name: String, on value: Value) -> Value? {
        switch value {
        case .string where stringMethods.contains(name): .callable(.method(value, name))
        case .object where dictMethods.contains(name): .callable(.method(value, name))
        case .array where listMethods.contains(name): .callable(.method(value, name))
        case .object, .array:
            mutatingMethods.contains(name) ? .callable(.unsafe(name: name, typeName: value.typeName)) : nil
        default: nil
        }
    }

    static func call(_ name: String, on receiver: Value, _ arguments: [Value], _ keyword: JinjaOrderedDictionary<Value>,
                     _ renderer: JinjaRenderer) throws(JinjaFailure) -> Value {
        func argument(_ index: Int, _ key: String) -> Value? {
            index < arguments.count ? arguments[index] : keyword[key]
        }
        func text(_ index: Int, _ key: String) throws(JinjaFailure) -> String? {
            guard let value = argument(index, key) else { return nil }
            if case .none = value { return nil }
            guard case .string(let string) = value else {
                throw .type("\(name)() argument must be str, not \(value.typeName)")
            }
            return string
        }
        switch receiver {
        case .string(let string):
            let result = try stringMethod(name, string, arguments: arguments, text: text, argument: argument,
                                          renderer: renderer)
            if case .string(let built) = result { try renderer.checkSize(built.unicodeScalars.count) }
            return result
        case .object(let object):
            switch name {
            case "get":
                guard case .string(let key)? = argument(0, "key") else { return argument(1, "default") ?? .none }
                return object[key] ?? argument(1, "default") ?? .none
            case "items": return .array(object.pairs.map { .tuple([.string($0.key), $0.value]) })
            case "keys": return .array(object.keys.map(Value.string))
            case "values": return .array(object.values)
            default: return receiver
            }
        case .array(let elements):
            switch name {
            case "index":
                guard let item = argument(0, "value"), let index = elements.firstIndex(where: { pythonEqual($0, item) })
                else { throw .type("value is not in list") }
                return .int(index)
            case "count":
                guard let item = argument(0, "value") else { throw .type("count() takes exactly one argument") }
                return .int(elements.filter { pythonEqual($0, item) }.count)
            default: return receiver
            }
        default:
            throw .type("'\(receiver.typeName)' object has no method '\(name)'")
        }
    }

    private static func stringMethod(_ name: String, _ string: String, arguments: [Value],
                                     text: (Int, String) throws(JinjaFailure) -> String?,
                                     argument: (Int, String) -> Value?, renderer: JinjaRenderer) throws(JinjaFailure)
        -> Value
    {
        switch name {
        case "strip", "lstrip", "rstrip":
            let characters = try text(0, "chars")
            return .string(pythonStrip(string, characters, leading: name != "rstrip", trailing: name != "lstrip"))
        case "startswith", "endswith":
            let candidates: [Value]
            switch argument(0, "prefix") {
            case .array(let elements)?, .tuple(let elements)?: candidates = elements
            case let value?: candidates = [value]
            case nil: throw .type("\(name)() takes at least 1 argument")
            }
            for candidate in candidates {
                guard case .string(let affix) = candidate else { throw .type("\(name)() argument must be str") }
                let scalars = Array(string.unicodeScalars)
                let affixScalars = Array(affix.unicodeScalars)
                let matches = name == "startswith" ? scalars.starts(with: affixScalars)
                    : scalars.count >= affixScalars.count && Array(scalars.suffix(affixScalars.count)) == affixScalars
                if matches { return .bool(true) }
            }
            return .bool(false)
        case "split", "rsplit":
            let separator = try text(0, "sep")
            let limit = argument(1, "maxsplit")?.integer ?? -1
            return .array(try pythonSplit(string, separator, limit: limit, fromEnd: name == "rsplit").map(Value.string))
        case "splitlines":
            var lines = string.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            return .array(lines.map(Value.string))
        case "upper": return .string(string.uppercased())
        case "lower": return .string(string.lowercased())
        case "title": return .string(pythonTitle(string))
        case "capitalize": return .string(pythonCapitalize(string))
        case "replace":
            guard let old = try text(0, "old"), let new = try text(1, "new") else {
                throw .type("replace() takes at least 2 arguments")
            }
            return .string(try pythonReplace(string, old, new, count: argument(2, "count")?.integer ?? -1,
                                             limit: renderer.limits.maximumValueSize))
        case "removeprefix", "removesuffix":
            let affix = try text(0, name == "removeprefix" ? "prefix" : "suffix") ?? ""
            if name == "removeprefix", string.unicodeScalars.starts(with: affix.unicodeScalars) {
                return .string(String(String.UnicodeScalarView(string.unicodeScalars.dropFirst(affix.unicodeScalars.count))))
            }
            if name == "removesuffix", !affix.isEmpty,
               Array(string.unicodeScalars.suffix(affix.unicodeScalars.count)) == Array(affix.unicodeScalars) {
                return .string(String(String.UnicodeScalarView(string.unicodeScalars.dropLast(affix.unicodeScalars.count))))
            }
            return .string(string)
        case "join":
            guard let items = argument(0, "iterable") else { throw .type("join() takes exactly one argument") }
            guard let elements = items.elements else { throw .type("can only join an iterable") }
            var parts: [String] = []
            var size = 0
            for element in elements {
                guard case .string(let part) = element else { throw .type("sequence item: expected str instance") }
                parts.append(part)
                size += part.utf8.count + string.utf8.count
                try renderer.checkSize(size)
            }
            return .string(parts.joined(separator: string))
        case "find", "rfind", "count":
            guard let needle = try text(0, "sub") else { throw .type("\(name)() takes at least 1 argument") }
            let ranges = pythonOccurrences(of: needle, in: string)
            if name == "count" { return .int(ranges.count) }
            return .int((name == "find" ? ranges.first : ranges.last) ?? -1)
        case "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper":
            let scalars = string.unicodeScalars
            guard !scalars.isEmpty else { return .bool(false) }
            switch name {
            case "isdigit": return .bool(scalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
            case "isalpha": return .bool(scalars.allSatisfy(\.properties.isAlphabetic))
            case "isalnum": return .bool(scalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
            case "isspace": return .bool(scalars.allSatisfy(isPythonSpace))
            case "islower": return .bool(string.lowercased() == string && string.uppercased() != string)
            default: return .bool(string.uppercased() == string && string.lowercased() != string)
            }
        case "format":
            return .string(try pythonFormat(string, arguments, limit: renderer.limits.maximumValueSize))
        default:
            throw .type("'str' object has no method '\(name)'")
        }
    }
}
