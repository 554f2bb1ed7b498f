import NN
import TensorModule

/// The simplest language model of the lecture: each token looks up a row of a `[V, V]` table, and that row *is* the
/// logits (unnormalised log-probabilities) of the next token. No context beyond the current token.
///
/// ```swift
/// let model = BigramLanguageModel(vocabSize: 65, generator: &generator)
/// let (logits, loss) = model.forward(x, batchSize: 32, targets: y)   // logits [32, 8, 65]
/// ```
public final class BigramLanguageModel: LanguageModel {
    public let configuration: ModelConfiguration
    /// `[V, V]`: row `i` holds the next-token logits after token `i`.
    public let tokenEmbeddingTable: Embedding

    public init(vocabSize: Int, blockSize: Int = 8, generator: inout SeededGenerator) {
        configuration = .bigram(vocabSize: vocabSize, blockSize: blockSize)
        tokenEmbeddingTable = Embedding(count: vocabSize, dimension: vocabSize, generator: &generator)
    }

    public func forward(_ idx: [Int], batchSize: Int, targets: [Int]?, training: Bool) -> (logits: Tensor, loss: Tensor?) {
        let time = idx.count / batchSize
        let logits = tokenEmbeddingTable(idx, shape: [batchSize, time])  // (B, T, V)
        return (logits, targets.map { logits.crossEntropy(targets: $0) })
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("token_embedding_table", tokenEmbeddingTable)
    }
}
