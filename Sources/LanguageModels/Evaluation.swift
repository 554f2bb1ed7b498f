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

/// Scores `tokens` with `model` in batches of `batchSize` windows.
public func evaluate(_ model: any LanguageModel, tokens: [Int], characters: Int, batchSize: Int = 32) -> EvaluationResult {
    let t = model.configuration.blockSize
    var total = 0.0, scored = 0
    withoutGradient {
        var starts = Array(stride(from: 0, to: max(0, tokens.count - 1), by: t))
        // Full windows go in batches; a shorter last window goes alone.
        let last = starts.last.flatMap { tokens.count - 1 - $0 < t ? $0 : nil }
        if last != nil { starts.removeLast() }
        var index = 0
        while index < starts.count {
            let group = starts[index..<min(starts.count, index + batchSize)]
            var x: [Int] = [], y: [Int] = []
            for start in group {
                x += tokens[start..<(start + t)]
                y += tokens[(start + 1)...(start + t)]
            }
            total += Double(model.forward(x, batchSize: group.count, targets: y).loss!.item) * Double(y.count)
            scored += y.count
            index += batchSize
        }
        if let last {
            let x = Array(tokens[last..<(tokens.count - 1)]), y = Array(tokens[(last + 1)...])
            total += Double(model.forward(x, batchSize: 1, targets: y).loss!.item) * Double(y.count)
            scored += y.count
        }
    }
    return EvaluationResult(meanLoss: scored == 0 ? .nan : total / Double(scored), tokens: scored, characters: characters)
}
