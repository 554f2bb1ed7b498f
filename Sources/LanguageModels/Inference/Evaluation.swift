import Foundation
import TensorModule

/// The loss of a model on a whole token sequence, deterministically: the sequence is cut into consecutive windows
/// of `blockSize` tokens, each predicting its next tokens, so every token after the first is scored exactly once.
public struct EvaluationResult: Sendable, Equatable {
    /// Mean cross-entropy per predicted token, in nats.
    public var meanLoss: Double
    /// Tokens scored.
    public var tokens: Int
    /// Characters (Unicode scalars) of the scored text, to compare tokenizers fairly.
    public var characters: Int

    /// `exp(meanLoss)`: the model is as unsure as a uniform choice among this many tokens.
    public var perplexity: Double { exp(meanLoss) }
    /// Nats per character: the same scale for char, word and BPE tokenizers.
    public var lossPerCharacter: Double { meanLoss * Double(tokens) / Double(max(1, characters)) }
}

/// The longest window an evaluation scores at once: a rotary model's `block_size` may be far longer than anything it
/// was trained on (no weight depends on it), and one window's attention costs the square of its length.
public let maximumEvaluationWindow = 8192

/// Scores `tokens` with `model` in batches of `batchSize` windows of the block size (at most
/// `maximumWindow`), the matrix products in `precision` (bf16: on a bfloat16 kernel where the CPU has
/// one, the weights rounded once for the whole evaluation).
public func evaluate(_ model: any LanguageModel, tokens: [Int], characters: Int, batchSize: Int = 32,
                     precision: MatrixPrecision = .float32, maximumWindow: Int = maximumEvaluationWindow) -> EvaluationResult {
    let t = max(1, min(model.configuration.blockSize, maximumWindow))
    var total = 0.0, scored = 0
    /// Adds the loss of `x` (`rows` windows) predicting `y`.
    func score(_ x: [Int], rows: Int, _ y: [Int]) {
        total += Double(model.forward(x, batchSize: rows, targets: y).loss!.item) * Double(y.count)
        scored += y.count
    }
    let weights = precision == .float32 ? nil : RoundedWeights(model.parameters)
    KernelSettings.with(precision: precision, weights: weights) {
        withoutGradient {
            var starts = Array(stride(from: 0, to: max(0, tokens.count - 1), by: t))
            // Full windows go in batches; a shorter last window goes alone.
            let last = starts.last.flatMap { tokens.count - 1 - $0 < t ? $0 : nil }
            if last != nil { starts.removeLast() }
            for index in stride(from: 0, to: starts.count, by: batchSize) {
                let group = starts[index..<min(starts.count, index + batchSize)]
                score(group.flatMap { tokens[$0..<($0 + t)] }, rows: group.count,
                      group.flatMap { tokens[($0 + 1)...($0 + t)] })
            }
            if let last { score(Array(tokens[last..<(tokens.count - 1)]), rows: 1, Array(tokens[(last + 1)...])) }
        }
    }
    return EvaluationResult(meanLoss: scored == 0 ? .nan : total / Double(scored), tokens: scored, characters: characters)
}
