import Foundation
import TensorModule

/// What a model's token embedding table (`[V, C]`: one learned vector per token) says about the tokens: which
/// ones sit close together, vector arithmetic between them, and a 2-D picture of all of them.
public struct EmbeddingAnalysis {
    /// The rows of the table, as `Double` vectors.
    public let vectors: [[Double]]

    public init(table: Tensor) {
        let columns = table.shape[1]
        let values = table.values
        vectors = (0..<table.shape[0]).map { row in values[(row * columns)..<((row + 1) * columns)].map(Double.init) }
    }

    /// The token embedding table of a bigram model or a GPT.
    public init(model: any LanguageModel) {
        switch model {
        case let gpt as GPTLanguageModel: self.init(table: gpt.tokenEmbeddingTable.weight)
        case let bigram as BigramLanguageModel: self.init(table: bigram.tokenEmbeddingTable.weight)
        default: self.init(table: model.parameters[0])
        }
    }

    /// `a·b / (|a| |b|)`: 1 for vectors pointing the same way, 0 for orthogonal ones.
    public static func cosineSimilarity(_ a: [Double], _ b: [Double]) -> Double {
        let dot = zip(a, b).map(*).reduce(0, +)
        let norms = (a.map { $0 * $0 }.reduce(0, +) * b.map { $0 * $0 }.reduce(0, +)).squareRoot()
        return norms == 0 ? 0 : dot / norms
    }

    /// The `count` tokens whose vectors are most similar (by cosine) to `vector`, leaving out `excluded`.
    public func nearest(to vector: [Double], count: Int, excluding excluded: Set<Int> = []) -> [(token: Int, similarity: Double)] {
        vectors.indices.filter { !excluded.contains($0) }
            .map { (token: $0, similarity: Self.cosineSimilarity(vector, vectors[$0])) }
            .sorted { $0.similarity > $1.similarity }
            .prefix(count).map { $0 }
    }

    /// Nearest neighbours of a token.
    public func neighbours(of token: Int, count: Int = 8) -> [(token: Int, similarity: Double)] {
        nearest(to: vectors[token], count: count, excluding: [token])
    }

    /// Tokens nearest to `a - b + c` ("king - man + woman"), leaving out the three inputs.
    public func analogy(_ a: Int, minus b: Int, plus c: Int, count: Int = 8) -> [(token: Int, similarity: Double)] {
        let target = (0..<vectors[a].count).map { vectors[a][$0] - vectors[b][$0] + vectors[c][$0] }
        return nearest(to: target, count: count, excluding: [a, b, c])
    }

    /// Each vector (or each of `rows`, in that order) projected onto the first two principal components
    /// (directions of largest variance) of those vectors, found by power iteration on their covariance matrix with
    /// deflation. `N` vectors of size `C` cost `N C² / 2` for the covariance, so 15,000 tokens of 384 take a second.
    public func principalComponents(of rows: [Int]? = nil) -> [(x: Double, y: Double)] {
        let rows = rows ?? Array(vectors.indices)
        let n = rows.count, d = vectors.first?.count ?? 0
        guard n > 0, d > 0 else { return [] }
        if d == 1 { return rows.map { (vectors[$0][0], 0) } }
        if d == 2 { return rows.map { (vectors[$0][0], vectors[$0][1]) } }
        let mean = (0..<d).map { j in rows.map { vectors[$0][j] }.reduce(0, +) / Double(n) }
        let centred = rows.flatMap { row in (0..<d).map { vectors[row][$0] - mean[$0] } }  // (N, C)
        var covariance = [Double](repeating: 0, count: d * d)  // (C, C), upper triangle then mirrored
        centred.withUnsafeBufferPointer { x in
            covariance.withUnsafeMutableBufferPointer { c in
                for r in 0..<n {
                    let row = x.baseAddress! + r * d
                    for i in 0..<d {
                        let xi = row[i], line = c.baseAddress! + i * d
                        for j in i..<d { line[j] += xi * row[j] }
                    }
                }
                for i in 0..<d { for j in 0..<i { c[i * d + j] = c[j * d + i] } }
            }
        }
        var components: [[Double]] = []
        for component in 0..<2 {
            var v = (0..<d).map { Double(($0 * 7 + component * 3) % 5) + 1 }
            for _ in 0..<300 {
                var next = (0..<d).map { i in (0..<d).map { covariance[i * d + $0] * v[$0] }.reduce(0, +) }
                for previous in components {  // deflate: stay orthogonal to earlier components
                    let overlap = zip(next, previous).map(*).reduce(0, +)
                    next = zip(next, previous).map { $0 - overlap * $1 }
                }
                let norm = next.map { $0 * $0 }.reduce(0, +).squareRoot()
                guard norm > 0 else { break }
                v = next.map { $0 / norm }
            }
            components.append(v)
        }
        return (0..<n).map { r in
            let row = centred[(r * d)..<((r + 1) * d)]
            return (zip(row, components[0]).map(*).reduce(0, +), zip(row, components[1]).map(*).reduce(0, +))
        }
    }
}
