import Foundation

/// What a `tokenizer.json`'s `normalizer` does to text before it is cut, as the `tokenizers` library does it.
enum Normalizer: Equatable, Sendable {
    case nfc, nfd, nfkc, nfkd, lowercase
    /// `Prepend`: the string goes before any non-empty text.
    case prepend(String)
    /// `Replace` of a `String` pattern, code point by code point.
    case replace(String, with: String)
    case sequence([Normalizer])

    func apply(_ text: String) -> String {
        switch self {
        case .nfc: text.precomposedStringWithCanonicalMapping
        case .nfd: text.decomposedStringWithCanonicalMapping
        case .nfkc: text.precomposedStringWithCompatibilityMapping
        case .nfkd: text.decomposedStringWithCompatibilityMapping
        case .lowercase: String(String.UnicodeScalarView(text.unicodeScalars.flatMap { $0.properties.lowercaseMapping.unicodeScalars }))
        case .prepend(let prefix): text.isEmpty ? text : prefix + text
        case .replace(let pattern, let content): replacingScalars(text, pattern, content)
        case .sequence(let steps): steps.reduce(text) { $1.apply($0) }
        }
    }
}

/// `text` with every occurrence of `pattern` (left to right, not overlapping) replaced by `content`, compared code
/// point by code point (not as Characters, which would merge canonically equivalent text). Compared as UTF-8, which
/// is the same: a pattern's bytes start with a scalar's first byte, so they match only from a scalar's start. Linear
/// in the text (a String's `UnicodeScalarView.append(contentsOf:)` copies the whole string each time).
func replacingScalars(_ text: String, _ pattern: String, _ content: String) -> String {
    let source = Array(text.utf8), target = Array(pattern.utf8), replacement = Array(content.utf8)
    guard let first = target.first else { return text }
    var out: [UInt8] = []
    out.reserveCapacity(source.count)
    var i = 0
    while i < source.count {
        if source[i] == first, i + target.count <= source.count, source[i..<i + target.count].elementsEqual(target) {
            out += replacement
            i += target.count
        } else {
            out.append(source[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// What a `tokenizer.json`'s `decoder` does to the tokens' strings, as `tokenizers`' `decode_chain` does it; the
/// strings it gives are then joined.
enum TokenDecoder: Equatable, Sendable {
    /// GPT-2's byte alphabet back to bytes (a token with another character stays its UTF-8), then UTF-8 with U+FFFD
    /// for what does not decode.
    case byteLevel
    case replace(String, with: String)
    /// Runs of `<0xAB>` tokens become their bytes: their text if they form UTF-8, else one U+FFFD per byte.
    case byteFallback
    /// All strings joined into one.
    case fuse
    /// Up to `start` leading and `stop` trailing `content` characters removed from each string.
    case strip(Unicode.Scalar, start: Int, stop: Int)
    /// `replacement` back to a space; in the first string (unless the scheme is "never") it is removed instead.
    case metaspace(replacement: Unicode.Scalar, prependScheme: PreTokenizer.PrependScheme)
    case sequence([TokenDecoder])

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let steps): return steps.reduce(tokens) { $1.decodeChain($0) }
        case .fuse: return [tokens.joined()]
        case .replace(let pattern, let content): return tokens.map { replacingScalars($0, pattern, content) }
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                let mapped = token.unicodeScalars.map { BytePairTokenizer.gpt2ByteOfScalar[$0.value] }
                if mapped.allSatisfy({ $0 != nil }) { bytes += mapped.map { $0! } } else { bytes += token.utf8 }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .byteFallback:
            var out: [String] = [], pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let text = String(validating: pending, as: UTF8.self) { out.append(text) } else {
                    out += Array(repeating: "\u{FFFD}", count: pending.count)
                }
                pending.removeAll()
            }
            for token in tokens {
                if let byte = fallbackByte(token) { pending.append(byte) } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let scalars = Array(token.unicodeScalars)
                var head = 0
                while head < min(start, scalars.count), scalars[head] == content { head += 1 }
                var tail = 0
                while tail < min(stop, scalars.count - head), scalars[scalars.count - 1 - tail] == content { tail += 1 }
                // As tokenizers: it keeps (UTF-8 length - cuts) characters, which keeps the tail of a non-ASCII token.
                let kept = scalars.dropFirst(head).prefix(max(0, token.utf8.count - head - tail))
                return String(String.UnicodeScalarView(kept))
            }
        case .metaspace(let replacement, let scheme):
            return tokens.enumerated().map { index, token in
                var out = String.UnicodeScalarView()
                for scalar in token.unicodeScalars {
                    if scalar != replacement { out.append(scalar) } else if index > 0 || scheme == .never { out.append(" ") }
                }
                return String(out)
            }
        }
    }
}

/// The byte of a byte-fallback token `<0xAB>` (two hexadecimal digits, as `tokenizers` writes them), else nil.
func fallbackByte(_ token: String) -> UInt8? {
    let utf8 = Array(token.utf8)
    guard utf8.count == 6, token.hasPrefix("<0x"), utf8[5] == UInt8(ascii: ">") else { return nil }
    return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
}

/// The special tokens a `post_processor` puts around a single text (`TemplateProcessing`'s `single`, or Roberta's
/// and Bert's `cls`/`sep`) when special tokens are added, as `tokenizers`' `encode(text)` does by default.
struct PostProcessor: Equatable, Sendable {
    var prefix: [Int] = []
    var suffix: [Int] = []
}
