import NN
import TensorModule

/// A worked example: a next-word model with 2-dimensional word vectors trained on "I love dogs / I love cats / Dogs
/// and cats are pets", small enough to see every number. Words are lower-cased, so the vocabulary has 7 words.
///
/// The model is an embedding bigram: each word looks up its 2-D *embedding vector* (`[V, 2]`), and a linear layer
/// (`[V, 2]` weights, `[V]` bias) turns that vector into scores for every possible next word; softmax makes the scores
/// probabilities. Row `w` of that layer's weights is word `w`'s *output vector*: the score of `w` coming next is its
/// dot product with the current word's embedding, plus a bias. Words that come in the same places are scored high
/// by the same embeddings, so training pulls their output vectors together: "dogs" and "cats" both follow "love"
/// (and share their contexts), and end as nearest neighbours. (The embeddings encode the other direction, what
/// comes *after* a word: "dogs" is followed by "and", "cats" by "are", so their embeddings need not be close.)
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

    /// Every word's 2-D output vector (its row of the head's weights `[V, 2]`), in vocabulary order.
    public func outputVectors() -> [(x: Double, y: Double)] {
        let values = head.weight.values
        return vocabulary.indices.map { (Double(values[$0 * 2]), Double(values[$0 * 2 + 1])) }
    }

    /// For each word, the other word whose vector in `vectors` (default: the output vectors now) is closest, and the
    /// Euclidean distance between the two.
    public func nearestWords(in vectors: [(x: Double, y: Double)]? = nil) -> [(word: String, nearest: String, distance: Double)] {
        let vectors = vectors ?? outputVectors()
        func distance(_ a: Int, _ b: Int) -> Double {
            let (dx, dy) = (vectors[a].x - vectors[b].x, vectors[a].y - vectors[b].y)
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

    /// Output vectors of the words (``outputVectors()``, at some moment of training) as a labelled scatter plot,
    /// drawn on axes that hold every point of `scale` (give the vectors of each picture to compare, so they share one
    /// scale).
    public func plot(_ vectors: [(x: Double, y: Double)], title: String, scale: [(x: Double, y: Double)]) -> ScatterPlot {
        func padded(_ values: [Double]) -> ClosedRange<Double> {
            let range = ScatterPlot.range(values), pad = (range.upperBound - range.lowerBound) * 0.08
            return (range.lowerBound - pad)...(range.upperBound + pad)
        }
        return ScatterPlot(title: title, xLabel: "output vector, dimension 0", yLabel: "output vector, dimension 1",
                           points: zip(vectors, vocabulary).map { ($0.x, $0.y, $1) },
                           xRange: padded(scale.map(\.x)), yRange: padded(scale.map(\.y)))
    }
}
