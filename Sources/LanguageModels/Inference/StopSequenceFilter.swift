import Foundation

/// Turns chosen tokens into text pieces: decodes incrementally (an incomplete multi-byte character waits for its
/// next token) and holds back any tail that could be the start of a stop sequence.
///
/// Each token costs a decode of a short window, not of everything generated: the filter decodes the tokens since
/// the last point where all the text was handed out, after a few tokens of left context (``contextTokens``), and
/// hands out what that window's text gained. The context is what a decoder looks back at: the start of a text
/// (SentencePiece's dropped leading space) and a run of byte tokens (decoded as one UTF-8 string). The window moves
/// only at a point where every decoded character was complete and handed out and no run of byte tokens is open, to
/// a tail whose text alone is the end of the text so far, so the pieces are those of decoding every token each time
/// (tested against that, on today's tokenizer families).
struct StopSequenceFilter {
    let stops: [String]
    let tokenizer: Tokenizer
    /// Released tokens kept before the unreleased ones when the window moves.
    static let contextTokens = 4
    /// The tokens decoded together: up to ``contextTokens`` released ones, then every one since.
    private var window: [Int] = []
    /// Unicode scalars of the window's text already handed out (not Characters: "\r" + "\n" merge).
    private var releasedScalars = 0
    /// The window's length at which ``moveWindow()`` next tries to move it.
    private var moveAt = 4 * Self.contextTokens
    private var waiting: [TokenChoice] = []
    /// Tokens the next push decodes with (the window so far).
    var windowLength: Int { window.count }

    init(stops: [String], tokenizer: Tokenizer) {
        self.stops = stops
        self.tokenizer = tokenizer
    }

    /// Adds a token; returns the text now safe to show (if any) and whether a stop sequence was reached.
    mutating func push(_ choice: TokenChoice) -> (GeneratedPiece?, Bool) {
        window.append(choice.token)
        waiting.append(choice)
        var pending = suffix(of: tokenizer.decode(window))
        if pending.hasSuffix("\u{FFFD}") { return (nil, false) }  // an incomplete character: wait for more bytes
        if let stop = stops.compactMap({ pending.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            pending = String(pending[..<stop.lowerBound])
            return (pending.isEmpty ? nil : take(pending), true)
        }
        var holdBack = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), to: 0, by: -1)
            where pending.hasSuffix(String(stop.prefix(length))) {
                holdBack = max(holdBack, length)
                break
            }
        }
        let safe = String(pending.dropLast(holdBack))  // Characters: a stop string is matched as text
        let piece = safe.isEmpty ? nil : take(safe)
        if holdBack == 0 { moveWindow() }
        return (piece, false)
    }

    /// Whatever is still held back, at the end of generation.
    mutating func flush() -> GeneratedPiece? {
        let rest = suffix(of: tokenizer.decode(window))
        return rest.isEmpty ? nil : take(rest)
    }

    private func suffix(of text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.dropFirst(releasedScalars)))
    }

    private mutating func take(_ text: String) -> GeneratedPiece {
        releasedScalars += text.unicodeScalars.count
        defer { waiting.removeAll() }
        return GeneratedPiece(text: text, tokens: waiting)
    }

    /// Once the window is ``moveAt`` tokens long, keeps its last ``contextTokens`` tokens or up to 3 times as many:
    /// the shortest such tail whose text is not empty and is the end of the whole window's text, scalar for scalar.
    /// Not while the window ends in a byte token: SentencePiece decodes a run of byte tokens as one string (one
    /// U+FFFD per byte if it is not UTF-8), so a run that may still go on can change text before the tail. An empty
    /// tail would make the next token's text the first, whose leading space the decoder drops. When no tail
    /// qualifies (just after a run of bytes that is not UTF-8), the next try waits for ``contextTokens`` more tokens:
    /// a window that cannot move costs about what decoding everything each time costs. Called when all the window's
    /// text is handed out and its last character complete.
    private mutating func moveWindow() {
        guard window.count >= moveAt, !isByteToken(window[window.count - 1]) else { return }
        let whole = tokenizer.decode(window).unicodeScalars
        for start in stride(from: window.count - Self.contextTokens, to: window.count - 4 * Self.contextTokens, by: -1) {
            let tail = tokenizer.decode(Array(window[start...])).unicodeScalars
            guard !tail.isEmpty, tail.count <= whole.count, whole.suffix(tail.count).elementsEqual(tail) else { continue }
            window.removeFirst(start)
            (releasedScalars, moveAt) = (tail.count, 4 * Self.contextTokens)
            return
        }
        moveAt = window.count + Self.contextTokens
    }

    /// Whether `id` is a byte-fallback token (`<0xAB>`), decoded together with the byte tokens beside it.
    private func isByteToken(_ id: Int) -> Bool {
        guard case .bytePair(let bytePair) = tokenizer else { return false }
        return fallbackByte(bytePair.tokenStrings([id])[0]) != nil
    }
}
