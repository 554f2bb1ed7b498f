import Foundation

/// A token of `tokenizer.json`'s `added_tokens`: matched whole in text before the text is cut, never split, its id
/// the file's.
struct AddedToken: Equatable, Sendable {
    var id: Int
    var content: String
    /// Special tokens (`<|im_start|>`, `<s>`) are left out when decoding skips special tokens.
    var special: Bool
    /// Matched only where no word character (letter, digit, mark, `_`) touches it on either side.
    var singleWord = false
    /// The whitespace before (`lstrip`) or after (`rstrip`) a match becomes part of it.
    var leftStrip = false
    var rightStrip = false
    /// Matched in the normalized text (else in the text as given).
    var normalized = false
}

/// The added tokens and how they cut text, as `tokenizers`' `AddedVocabulary` does: the leftmost match, the longest
/// there, then on after it; tokens with `normalized` false are cut from the text as given, then the others from
/// each normalized piece between them.
struct AddedVocabulary: Equatable, Sendable {
    let tokens: [AddedToken]
    /// For each set (as given, normalized): the tokens' UTF-8 by first byte, longest first.
    private let given: [UInt8: [(bytes: [UInt8], token: AddedToken)]]
    private let normalizedTokens: [UInt8: [(bytes: [UInt8], token: AddedToken)]]

    init(_ tokens: [AddedToken], normalizer: Normalizer?) {
        self.tokens = tokens
        func index(_ tokens: [(String, AddedToken)]) -> [UInt8: [(bytes: [UInt8], token: AddedToken)]] {
            var byFirst: [UInt8: [(bytes: [UInt8], token: AddedToken)]] = [:]
            for (text, token) in tokens where !text.isEmpty { byFirst[text.utf8.first!, default: []].append((Array(text.utf8), token)) }
            return byFirst.mapValues { $0.sorted { $0.bytes.count > $1.bytes.count } }
        }
        given = index(tokens.filter { !$0.normalized }.map { ($0.content, $0) })
        normalizedTokens = index(tokens.filter(\.normalized).map { (normalizer?.apply($0.content) ?? $0.content, $0) })
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.tokens == rhs.tokens }

    var isEmpty: Bool { tokens.isEmpty }

    /// `text` cut into the added tokens (their ids) and the text between them (nil id); text between tokens may be
    /// empty. `normalized` picks the tokens matched in normalized text.
    func split(_ text: Substring, normalized: Bool) -> [(text: Substring, id: Int?)] {
        let table = normalized ? normalizedTokens : given
        let bytes = Array(text.utf8)
        guard !table.isEmpty, !bytes.isEmpty else { return [(text, nil)] }
        func index(_ offset: Int) -> Substring.Index { text.utf8.index(text.startIndex, offsetBy: offset) }
        var parts: [(text: Substring, id: Int?)] = []
        var done = 0, position = 0
        while position < bytes.count {
            guard let candidates = table[bytes[position]],
                  let found = candidates.first(where: { position + $0.bytes.count <= bytes.count
                      && bytes[position..<position + $0.bytes.count].elementsEqual($0.bytes) })
            else { position += 1; continue }
            var (start, stop) = (position, position + found.bytes.count)
            position = stop
            let token = found.token
            if token.singleWord, Self.touchesWord(bytes, start: start, stop: stop) { continue }
            if token.leftStrip {
                while start > done, let scalar = Self.scalar(endingAt: start, in: bytes), scalar.value.properties.isWhitespace {
                    start -= scalar.length
                }
            }
            if token.rightStrip {
                while let scalar = Self.scalar(startingAt: stop, in: bytes), scalar.value.properties.isWhitespace { stop += scalar.length }
                position = stop
            }
            if start > done { parts.append((text[index(done)..<index(start)], nil)) }
            parts.append((text[index(start)..<index(stop)], token.id))
            done = stop
        }
        if done < bytes.count || parts.isEmpty { parts.append((text[index(done)...], nil)) }
        return parts
    }

    /// Whether a word character (`\w`: letters, marks, decimal digits, connector punctuation) is next to the match.
    private static func touchesWord(_ bytes: [UInt8], start: Int, stop: Int) -> Bool {
        func isWord(_ scalar: Unicode.Scalar?) -> Bool {
            guard let scalar else { return false }
            let properties = scalar.properties
            if properties.isAlphabetic || properties.isJoinControl { return true }
            switch properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
            default: return false
            }
        }
        return isWord(scalar(endingAt: start, in: bytes)?.value) || isWord(scalar(startingAt: stop, in: bytes)?.value)
    }

    private static func scalar(startingAt offset: Int, in bytes: [UInt8]) -> (value: Unicode.Scalar, length: Int)? {
        guard offset < bytes.count else { return nil }
        let length = bytes[offset] < 0x80 ? 1 : bytes[offset] < 0xE0 ? 2 : bytes[offset] < 0xF0 ? 3 : 4
        guard offset + length <= bytes.count,
              let scalar = String(decoding: bytes[offset..<offset + length], as: UTF8.self).unicodeScalars.first else { return nil }
        return (scalar, length)
    }

    private static func scalar(endingAt offset: Int, in bytes: [UInt8]) -> (value: Unicode.Scalar, length: Int)? {
        var start = offset - 1
        while start > 0, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 else { return nil }
        return scalar(startingAt: start, in: bytes)
    }
}
