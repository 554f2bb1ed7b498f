import Foundation

/// How text is cut into pieces before byte-pair encoding, as the `tokenizers` library's pre-tokenizers cut it
/// (`pre_tokenizer` in `tokenizer.json`). Pieces never cross an added token; empty pieces are dropped.
enum PreTokenizer: Equatable, Sendable {
    /// `ByteLevel`: with `useRegex`, GPT-2's pattern (``BytePairTokenizer/preSplit(_:)``) cuts each piece; with
    /// `addPrefixSpace`, a space goes before each piece that does not start with one. Marks the model byte-level.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// `Split`: the pattern's matches (or, inverted, the text between them) are kept as `behavior` says.
    case split(SplitPattern, behavior: SplitBehavior, invert: Bool)
    /// `Metaspace`: spaces become `replacement` ("▁"), put first as `prependScheme` says; `split` cuts before each.
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
    case sequence([PreTokenizer])

    /// `first`: only before the text's first piece; `always`: before every piece; `never`.
    enum PrependScheme: String, Sendable { case first, always, never }

    /// What `Split` does with a match: `tokenizers`' `SplitDelimiterBehavior`.
    enum SplitBehavior: String, Sendable, CaseIterable {
        case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
        case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
    }

    /// A piece of text and whether it starts the whole text (where `Metaspace`'s "first" scheme prepends).
    struct Piece {
        var text: Substring
        var atStart: Bool
    }

    /// Whether a `ByteLevel` step is part of it: the model then reads bytes, not characters.
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: true
        case .sequence(let steps): steps.contains(where: \.isByteLevel)
        default: false
        }
    }

    /// The pieces of `pieces`, in order, none empty.
    func apply(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case .sequence(let steps): return steps.reduce(pieces) { $1.apply($0) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            return pieces.flatMap { piece -> [Piece] in
                guard !piece.text.isEmpty else { return [] }  // as tokenizers: nothing is prepended to nothing
                var text = piece.text
                if addPrefixSpace, text.unicodeScalars.first != " " { text = Substring(" " + text) }
                guard useRegex else { return [Piece(text: text, atStart: piece.atStart)] }
                return BytePairTokenizer.preSplit(String(text)).enumerated().map {
                    Piece(text: Substring($1), atStart: piece.atStart && $0 == 0)
                }
            }
        case .split(let pattern, let behavior, let invert):
            return pieces.flatMap { piece in
                Self.split(piece.text, at: pattern.matches(in: piece.text), behavior: behavior, invert: invert)
                    .map { Piece(text: $0, atStart: piece.atStart && $0.startIndex == piece.text.startIndex) }
            }
        case .metaspace(let replacement, let scheme, let split):
            return pieces.flatMap { piece -> [Piece] in
                guard !piece.text.isEmpty else { return [] }
                var scalars = String.UnicodeScalarView(piece.text.unicodeScalars.map { $0 == " " ? replacement : $0 })
                let prepend = scheme == .always || (scheme == .first && piece.atStart)
                if prepend, scalars.first != replacement { scalars.insert(replacement, at: scalars.startIndex) }
                let text = Substring(String(scalars))
                guard split else { return text.isEmpty ? [] : [Piece(text: text, atStart: piece.atStart)] }
                var ranges: [Range<Substring.Index>] = []
                var index = text.unicodeScalars.startIndex
                while index < text.unicodeScalars.endIndex {
                    let next = text.unicodeScalars.index(after: index)
                    if text.unicodeScalars[index] == replacement { ranges.append(index..<next) }
                    index = next
                }
                return Self.split(text, at: ranges, behavior: .mergedWithNext, invert: false).map {
                    Piece(text: $0, atStart: piece.atStart && $0.startIndex == text.startIndex)
                }
            }
        }
    }

    /// `text` cut at `matches` (in order, not overlapping) as `tokenizers`' `NormalizedString::split` cuts it, empty
    /// pieces dropped.
    static func split(_ text: Substring, at matches: [Range<Substring.Index>], behavior: SplitBehavior,
                      invert: Bool) -> [Substring] {
        var parts: [(range: Range<Substring.Index>, isMatch: Bool)] = []
        var previous = text.startIndex
        for match in matches {
            if previous < match.lowerBound { parts.append((previous..<match.lowerBound, invert)) }
            parts.append((match, !invert))
            previous = match.upperBound
        }
        if previous < text.endIndex { parts.append((previous..<text.endIndex, invert)) }
        var kept: [Range<Substring.Index>] = []
        var previousMatched = false
        switch behavior {
        case .removed: kept = parts.filter { !$0.isMatch }.map(\.range)
        case .isolated: kept = parts.map(\.range)
        case .mergedWithPrevious, .contiguous:
            for part in parts {
                let joins = behavior == .contiguous ? part.isMatch == previousMatched : part.isMatch && !previousMatched
                if joins, let last = kept.last { kept[kept.count - 1] = last.lowerBound..<part.range.upperBound } else { kept.append(part.range) }
                previousMatched = part.isMatch
            }
        case .mergedWithNext:
            for part in parts.reversed() {
                if part.isMatch && !previousMatched, let last = kept.last {
                    kept[kept.count - 1] = part.range.lowerBound..<last.upperBound
                } else {
                    kept.append(part.range)
                }
                previousMatched = part.isMatch
            }
            kept.reverse()
        }
        return kept.filter { !$0.isEmpty }.map { text[$0] }
    }
}

/// The pattern of a `Split` pre-tokenizer: `{"Regex": ...}` (Oniguruma's syntax in `tokenizers`; ICU's here, which
/// agrees on the patterns of today's tokenizers: Unicode classes, `(?i:...)`, lookahead, possessive quantifiers) or
/// `{"String": ...}`, matched code point by code point. Compiled once.
struct SplitPattern: Equatable, @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe
    let source: String
    let isRegex: Bool
    private let expression: NSRegularExpression

    /// Throws the compiler's complaint when `source` is not a pattern ICU compiles.
    init(_ source: String, isRegex: Bool) throws {
        (self.source, self.isRegex) = (source, isRegex)
        expression = try NSRegularExpression(pattern: isRegex ? source : NSRegularExpression.escapedPattern(for: source))
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.isRegex == rhs.isRegex && ExactText(lhs.source) == ExactText(rhs.source) }

    /// The non-empty matches in `text`, left to right, not overlapping.
    func matches(in text: Substring) -> [Range<Substring.Index>] {
        // Searched inside the whole string: a substring's indices are its base's. Without transparent bounds,
        // lookaround and `$` see the range as the whole text.
        let base = text.base
        return expression.matches(in: base, range: NSRange(text.startIndex..<text.endIndex, in: base)).compactMap { match in
            guard match.range.length > 0 else { return nil }
            return Range(match.range, in: base)
        }
    }
}
