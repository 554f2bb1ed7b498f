import NN
import TensorModule

/// A worked example: a next-word model with 2-dimensional embeddings trained on "I love dogs / I love cats / Dogs
/// and cats are pets", small enough to see every number. Words are lower-cased, so the vocabulary has 7 words.
///
/// The model is an embedding bigram: each word looks up its 2-D *embedding vector* (`[V, 2]`), and a linear layer
/// (`[V, 2]` weights, `[V]` bias) turns that vector into scores for every possible next word; softmax makes the scores
/// probabilities. A word's vector therefore encodes *what comes after it*: words followed by the same words are
/// pushed to nearby vectors, and words followed by different words apart. "dogs" and "cats" both come after "love",
/// which the model learns as the scores of the word after "love" (half each), not as nearby vectors: "dogs" is
/// followed by "and", "cats" by "are", so their own vectors need not be close.
public final class SeedExample: Module {
    public static let text = "I love dogs\nI love cats\nDogs and cats are pets\n"

    /// The distinct lower-cased words of ``text``, sorted.
    public let vocabulary: [String]
    public let embedding: Embedding  // (V, 2)
    public let head: Linear  // 2 -> V

    public init(seed: UInt64 = 1337) {
        vocabulary = Array(Set(Self.text.split(whereSeparator: \.isWhitespace).map { $0.lowercased() })).sorted()
        var generator = SeededGenerator(seed: seed)
        embedding = Embedding(count: vocabulary.count, dimension: 2, std: 1, generator: &generator)
        head = Linear(inputSize: 2, outputSize: vocabulary.count, generator: &generator)
    }

    /// The ids of the words of `sentence` (lower-cased); throws naming a word outside the vocabulary.
    public func encode(_ sentence: String) throws -> [Int] {
        try sentence.split(whereSeparator: \.isWhitespace).map { word in
            guard let id = vocabulary.firstIndex(of: word.lowercased()) else {
                throw GPTError.unknownCharacter("word \(String(word.prefix(40)).debugDescription)", position: 0)
            }
            return id
        }
    }

    /// Every (word, next word) pair within a sentence of the text: a sentence's last word predicts nothing.
    func trainingPairs() throws -> (inputs: [Int], targets: [Int]) {
        var inputs: [Int] = [], targets: [Int] = []
        for sentence in Self.text.split(separator: "\n") {
            let ids = try encode(String(sentence))
            inputs += ids.dropLast()
            targets += ids.dropFirst()
        }
        return (inputs, targets)
    }

    /// For each word, the other word whose embedding vector is closest (Euclidean).
    public func nearestWords() -> [(word: String, nearest: String, distance: Double)] {
        let values = embedding.weight.values
        func distance(_ a: Int, _ b: Int) -> Double {
            let dx = Double(values[a * 2] - values[b * 2]), dy = Double(values[a * 2 + 1] - values[b * 2 + 1])
            return (dx * dx + dy * dy).squareRoot()
        }
        return vocabulary.indices.map { a in
            let b = vocabulary.indices.filter { $0 != a }.min { distance(a, $0) < distance(a, $1) } ?? a
            return (vocabulary[a], vocabulary[b], distance(a, b))
        }
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
        let (inputs, targets) = try trainingPairs()
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
        let tokens = try encode(prompt)
        let probabilities = withoutGradient { logits([tokens.last ?? 0]).softmax().values }
        return probabilities.enumerated().map { (vocabulary[$0.offset], $0.element) }
            .sorted { $0.probability > $1.probability }
    }

    /// The 2-D embedding of every word, as a labelled scatter plot.
    public func embeddingPlot(title: String) -> ScatterPlot {
        let values = embedding.weight.values
        return ScatterPlot(title: title, xLabel: "dimension 0", yLabel: "dimension 1", points:
            vocabulary.enumerated().map { (Double(values[$0.offset * 2]), Double(values[$0.offset * 2 + 1]), $0.element) })
    }
}
