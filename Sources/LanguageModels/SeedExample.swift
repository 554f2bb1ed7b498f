import NN
import TensorModule

/// The seed documents' worked example: a word-level model with 2-dimensional embeddings trained on
/// "I love dogs / I love cats / Dogs and cats are pets", small enough to see every number.
///
/// The model is an embedding bigram: each word looks up its 2-D *embedding vector* (`[V, 2]`), and a linear layer
/// (`[V, 2]` weights, `[V]` bias) turns that vector into scores for every possible next word; softmax makes the scores
/// probabilities. Words used in the same places (" dogs" and " cats") end up with nearby vectors.
public final class SeedExample: Module {
    public static let text = "I love dogs\nI love cats\nDogs and cats are pets\n"

    public let tokenizer: WordTokenizer
    public let embedding: Embedding  // (V, 2)
    public let head: Linear  // 2 -> V

    public init(seed: UInt64 = 1337) {
        tokenizer = WordTokenizer(training: Self.text)
        var generator = SeededGenerator(seed: seed)
        embedding = Embedding(count: tokenizer.vocabularySize, dimension: 2, std: 1, generator: &generator)
        head = Linear(inputSize: 2, outputSize: tokenizer.vocabularySize, generator: &generator)
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("embedding", embedding) + prefixed("head", head)
    }

    /// Next-word logits `[N, V]` for each of `tokens`.
    func logits(_ tokens: [Int]) -> Tensor {
        head(embedding(tokens, shape: [tokens.count]))  // (N, 2) -> (N, V)
    }

    /// Trains on every (word, next word) pair of the text with AdamW; returns the final loss.
    @discardableResult
    public func train(steps: Int = 400, learningRate: Float = 0.05) throws -> Float {
        let tokens = try tokenizer.encode(Self.text)
        let inputs = Array(tokens.dropLast()), targets = Array(tokens.dropFirst())
        let optimizer = AdamW(parameters: parameters, settings: .init(learningRate: learningRate, weightDecay: 0))
        var loss: Float = 0
        for _ in 0..<steps {
            clearGradients()
            let value = logits(inputs).crossEntropy(targets: targets)
            value.backward()
            optimizer.update()
            loss = value.item
        }
        return loss
    }

    /// The probability of every word coming next after `prompt`, most likely first.
    public func nextWordProbabilities(after prompt: String) throws -> [(word: String, probability: Float)] {
        let tokens = try tokenizer.encode(prompt)
        let probabilities = withoutGradient { logits([tokens.last ?? 0]).softmax().values }
        return probabilities.enumerated().map { (tokenizer.vocabulary[$0.offset], $0.element) }
            .sorted { $0.probability > $1.probability }
    }

    /// The 2-D embedding of every word, as a labelled scatter plot.
    public func embeddingPlot(title: String) -> ScatterPlot {
        let values = embedding.weight.values
        return ScatterPlot(title: title, xLabel: "dimension 0", yLabel: "dimension 1", points:
            tokenizer.vocabulary.enumerated().map { (Double(values[$0.offset * 2]), Double(values[$0.offset * 2 + 1]), $0.element) })
    }
}
