import NN
import TensorModule

/// A model that reads token ids and scores every possible next token.
///
/// Shapes: B is the batch size, T the time (context length), V the vocabulary size.
public protocol LanguageModel: Module {
    var configuration: ModelConfiguration { get }

    /// Logits `[B, T, V]` for token ids `idx` (row-major `[B, T]`), and the mean cross-entropy against `targets`
    /// (same layout) when given. `training` turns dropout on.
    func forward(_ idx: [Int], batchSize: Int, targets: [Int]?, training: Bool) -> (logits: Tensor, loss: Tensor?)
}

extension LanguageModel {
    /// Logits and optional loss with dropout off.
    public func forward(_ idx: [Int], batchSize: Int = 1, targets: [Int]? = nil) -> (logits: Tensor, loss: Tensor?) {
        forward(idx, batchSize: batchSize, targets: targets, training: false)
    }

    /// Extends `idx` by `maxNewTokens` tokens, each sampled from the softmax of the last position's logits, the
    /// context cropped to the last ``ModelConfiguration/blockSize`` tokens (the lecture's `generate`).
    public func generate(_ idx: [Int], maxNewTokens: Int, generator: inout SeededGenerator) -> [Int] {
        var tokens = idx
        withoutGradient {
            for _ in 0..<max(0, maxNewTokens) {
                let context = Array(tokens.suffix(configuration.blockSize))
                let logits = forward(context.isEmpty ? [0] : context).logits
                let vocab = configuration.vocabSize
                let last = logits.storage.pointer + (logits.count - vocab)
                tokens.append(sampleFromLogits(last, count: vocab, generator: &generator))
            }
        }
        return tokens
    }
}

/// Samples an index from `softmax(logits)` (PyTorch's `torch.multinomial(F.softmax(logits), 1)`).
public func sampleFromLogits(_ logits: UnsafePointer<Float>, count: Int, generator: inout SeededGenerator) -> Int {
    var probabilities = [Float](repeating: 0, count: count)
    probabilities.withUnsafeMutableBufferPointer { p in
        softmaxForward(out: p.baseAddress!, input: logits, rows: 1, columns: count)
    }
    return sampleIndex(probabilities: probabilities, generator: &generator)
}

/// Draws index `i` with probability `probabilities[i]` (which need not sum exactly to one) by inverse CDF.
public func sampleIndex(probabilities: [Float], generator: inout SeededGenerator) -> Int {
    let total = probabilities.reduce(0, +)
    let target = Float(generator.nextDouble()) * total
    var cumulative: Float = 0
    for (i, p) in probabilities.enumerated() {
        cumulative += p
        if target < cumulative { return i }
    }
    return probabilities.lastIndex { $0 > 0 } ?? 0
}
