import Foundation

/// A 2-D map of a token embedding table (its first two principal components) that stays readable for any
/// vocabulary: every used token is a point, and only the most frequent ~100 are named.
///
/// - Points: every token of the tokenizer, except a byte-level BPE's byte tokens that are never used (bytes that
///   never occur in the corpus, or, without counts, the bytes that decode to U+FFFD on their own) and padding rows
///   past the vocabulary. Skipped tokens also stay out of the principal components, which they would only blur.
/// - Names: the `maximumLabels` tokens that occur most often in `counts` (the training corpus's token counts,
///   ``EmbeddingAnalysis/counts(of:vocabularySize:)``), or the first ids without counts. A BPE token that is part of
///   a character is named by its bytes (`\xE2\x80`), never `�`.
extension EmbeddingAnalysis {
    /// The map of the embedding vectors of `tokenizer`'s tokens.
    ///
    /// - Parameters:
    ///   - counts: how often each token id occurs in the training corpus (`[V]`), or nil when unknown.
    ///   - maximumLabels: the most tokens named on the map.
    public func map(tokenizer: Tokenizer, counts: [Int]? = nil, maximumLabels: Int = 100) -> ScatterPlot {
        let shown = vectors.indices.filter { Self.isShown($0, tokenizer: tokenizer, counts: counts) }
        let ranked = counts.map { counts in
            shown.filter { counts[$0] > 0 }.sorted { (counts[$0], $1) > (counts[$1], $0) }
        } ?? shown
        let named = ranked.prefix(maximumLabels).filter { !Self.label($0, tokenizer: tokenizer).isEmpty }
        let namedSet = Set(named)
        let order = named + shown.filter { !namedSet.contains($0) }
        let projected = principalComponents(of: order)
        let points = order.enumerated().map { index, token in
            (x: projected[index].x, y: projected[index].y, label: index < named.count ? Self.label(token, tokenizer: tokenizer) : "")
        }
        let which = counts == nil ? "the first \(named.count) ids" : "the \(named.count) most frequent"
        return ScatterPlot(
            title: "Token embeddings (\(shown.count) tokens, \(vectors.first?.count ?? 0)-D; \(which) named)",
            xLabel: "principal component 1", yLabel: "principal component 2", points: points,
            maximumLabels: maximumLabels)
    }

    /// How often each token id in `0..<vocabularySize` occurs in `tokens` (`[V]`).
    public static func counts(of tokens: some Sequence<Int>, vocabularySize: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: vocabularySize)
        for token in tokens where token >= 0 && token < vocabularySize { counts[token] += 1 }
        return counts
    }

    /// The token counts of `corpus` encoded with `tokenizer` (train and validation parts together), as
    /// ``map(tokenizer:counts:maximumLabels:)`` takes them.
    public static func counts(in corpus: Corpus, tokenizer: Tokenizer) throws -> [Int] {
        let dataset = try corpus.dataset(tokenizer: tokenizer, skippingUnknown: true).dataset  // counts, not a refusal
        return counts(of: [dataset.trainTokens, dataset.validationTokens].joined(), vocabularySize: tokenizer.vocabularySize)
    }

    /// False for padding rows past the vocabulary and for a BPE's byte tokens that are never used.
    static func isShown(_ token: Int, tokenizer: Tokenizer, counts: [Int]?) -> Bool {
        guard token < tokenizer.vocabularySize else { return false }
        guard case .bytePair(let bpe) = tokenizer, bpe.tokenBytes[token].count == 1 else { return true }
        if let counts { return token < counts.count && counts[token] > 0 }
        return !tokenizer.label(token).unicodeScalars.contains("\u{FFFD}")
    }

    /// A token's name on the map: its text, a BPE token that is part of a character by its bytes (`·\xE2`), and
    /// empty for a token whose text holds U+FFFD of its own.
    static func label(_ token: Int, tokenizer: Tokenizer) -> String {
        let text = tokenizer.label(token)
        guard text.unicodeScalars.contains("\u{FFFD}") else { return text }
        guard case .bytePair(let bpe) = tokenizer else { return "" }
        return bpe.tokenBytes[token].map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }
            .joined()
    }
}
