// Python's string operations on Unicode scalars (code points), as the methods and filters need them.

/// `str.strip(chars)`: `characters` nil strips whitespace.
func pythonStrip(_ text: String, _ characters: String?, leading: Bool = true, trailing: Bool = true) -> String {
    let set = characters.map { Set($0.unicodeScalars) }
    func strips(_ scalar: Unicode.Scalar) -> Bool { set?.contains(scalar) ?? isPythonSpace(scalar) }
    var scalars = Substring(text).unicodeScalars[...]
    if leading { while let first = scalars.first, strips(first) { scalars.removeFirst() } }
    if trailing { while let last = scalars.last, strips(last) { scalars.removeLast() } }
    return String(String.UnicodeScalarView(scalars))
}

/// The start offsets (in scalars) of the non-overlapping occurrences of `needle`, left to right.
func pythonOccurrences(of needle: String, in text: String) -> [Int] {
    let haystack = Array(text.unicodeScalars)
    let pattern = Array(needle.unicodeScalars)
    guard !pattern.isEmpty else { return Array(0...haystack.count) }
    var found: [Int] = []
    var i = 0
    while i + pattern.count <= haystack.count {
        if haystack[i] == pattern[0], Array(haystack[i..<i + pattern.count]) == pattern {
            found.append(i)
            i += pattern.count
        } else {
            i += 1
        }
    }
    return found
}

/// `str.replace(old, new, count)`; fails before building a result longer than `limit` scalars.
func pythonReplace(_ text: String, _ old: String, _ new: String, count: Int = -1, limit: Int) throws(JinjaFailure)
    -> String
{
    let haystack = Array(text.unicodeScalars)
    let oldCount = old.unicodeScalars.count
    var replacements = pythonOccurrences(of: old, in: text).count
    if count >= 0 { replacements = min(replacements, count) }
    let (added, overflowed) = replacements.multipliedReportingOverflow(by: new.unicodeScalars.count)
    guard !overflowed, haystack.count + added <= limit else {
        throw .limit("a value grew past \(limit) characters or items")
    }
    var out = String.UnicodeScalarView()
    var position = 0
    var replaced = 0
    if oldCount == 0 {
        for (i, scalar) in haystack.enumerated() {
            if count < 0 || replaced < count { out.append(contentsOf: new.unicodeScalars); replaced += 1 }
            _ = i
            out.append(scalar)
        }
        if count < 0 || replaced < count { out.append(contentsOf: new.unicodeScalars) }
        return String(out)
    }
    for start in pythonOccurrences(of: old, in: text) where count < 0 || replaced < count {
        out.append(contentsOf: haystack[position..<start])
        out.append(contentsOf: new.unicodeScalars)
        position = start + oldCount
        replaced += 1
    }
    out.append(contentsOf: haystack[position...])
    return String(out)
}

/// `str.split(sep, maxsplit)` and `str.rsplit`: nil `separator` splits on runs of whitespace and drops empty parts.
func pythonSplit(_ text: String, _ separator: String?, limit: Int, fromEnd: Bool) throws(JinjaFailure) -> [String] {
    let scalars = Array(text.unicodeScalars)
    func string(_ part: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(part)) }
    guard let separator else {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var i = 0
        var end = scalars.count
        if fromEnd {
            // Split from the right: collect words backwards.
            var parts: [String] = []
            while end > 0 {
                while end > 0, isPythonSpace(scalars[end - 1]) { end -= 1 }
                guard end > 0 else { break }
                if limit >= 0, parts.count == limit {
                    parts.append(string(scalars[0..<end]))
                    return parts.reversed()
                }
                var start = end
                while start > 0, !isPythonSpace(scalars[start - 1]) { start -= 1 }
                parts.append(string(scalars[start..<end]))
                end = start
            }
            return parts.reversed()
        }
        while i < scalars.count {
            while i < scalars.count, isPythonSpace(scalars[i]) { i += 1 }
            guard i < scalars.count else { break }
            if limit >= 0, words.count == limit {
                var rest = scalars[i...]
                while let last = rest.last, isPythonSpace(last) { rest.removeLast() }
                words.append(rest)
                break
            }
            let start = i
            while i < scalars.count, !isPythonSpace(scalars[i]) { i += 1 }
            words.append(scalars[start..<i])
        }
        return words.map(string)
    }
    guard !separator.isEmpty else { throw .type("empty separator") }
    var starts = pythonOccurrences(of: separator, in: text)
    if limit >= 0, starts.count > limit { starts = fromEnd ? Array(starts.suffix(limit)) : Array(starts.prefix(limit)) }
    var parts: [String] = []
    var position = 0
    for start in starts {
        parts.append(string(scalars[position..<start]))
        position = start + separator.unicodeScalars.count
    }
    parts.append(string(scalars[position...]))
    return parts
}

/// `str.title()`: each run of cased letters starts upper-case, the rest lower-case.
func pythonTitle(_ text: String) -> String {
    var out = ""
    var previousCased = false
    for scalar in text.unicodeScalars {
        let cased = scalar.properties.isCased
        out += previousCased ? String(scalar).lowercased() : String(scalar).uppercased()
        previousCased = cased
    }
    return out
}

/// `str.capitalize()`: the first character upper-case, the rest lower-case.
func pythonCapitalize(_ text: String) -> String {
    guard let first = text.unicodeScalars.first else { return text }
    return String(first).uppercased() + String(String.UnicodeScalarView(text.unicodeScalars.dropFirst())).lowercased()
}

/// jinja2's `title` filter: words start after `-`, whitespace, `(`, `{`, `[` or `<`; each word's first character
/// upper-case and the rest lower-case.
func jinjaTitle(_ text: String) -> String {
    var out = ""
    var atWordStart = true
    for scalar in text.unicodeScalars {
        let isBoundary = scalar == "-" || isPythonSpace(scalar) || "({[<".unicodeScalars.contains(scalar)
        if isBoundary {
            out.unicodeScalars.append(scalar)
            atWordStart = true
        } else {
            out += atWordStart ? String(scalar).uppercased() : String(scalar).lowercased()
            atWordStart = false
        }
    }
    return out
}

/// `str.format(*args)` for `{}` and `{0}` fields (and `{{`/`}}`), each argument as `str()` prints it; fails once the
/// result passes `limit` bytes.
func pythonFormat(_ format: String, _ arguments: [Value], limit: Int) throws(JinjaFailure) -> String {
    var out = ""
    var automatic = 0
    var scalars = format.unicodeScalars.makeIterator()
    while let scalar = scalars.next() {
        if scalar == "}" {
            guard scalars.next() == "}" else { throw .type("single '}' encountered in format string") }
            out += "}"
            continue
        }
        guard scalar == "{" else { out.unicodeScalars.append(scalar); continue }
        var field = ""
        var closed = false
        while let next = scalars.next() {
            if next == "{", field.isEmpty { out += "{"; closed = true; field = "{"; break }
            if next == "}" { closed = true; break }
            field.unicodeScalars.append(next)
        }
        guard closed else { throw .type("unmatched '{' in format string") }
        if field == "{" { continue }
        let index: Int
        if field.isEmpty {
            index = automatic
            automatic += 1
        } else if let explicit = Int(field) {
            index = explicit
        } else {
            throw .type("only positional fields like {} and {0} are supported in format()")
        }
        guard arguments.indices.contains(index) else { throw .type("Replacement index \(index) out of range") }
        out += arguments[index].pythonString
        guard out.utf8.count <= limit else { throw .limit("a value grew past \(limit) characters or items") }
    }
    return out
}
