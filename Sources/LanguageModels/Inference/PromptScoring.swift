import Foundation
import TensorModule

/// Scores a text already written: each token's log-probability under `model` given the tokens before it, and the
/// `alternatives` most likely tokens at its position (what `echo` with `logprobs` answers on `/v1/completions`, and
/// what lm-evaluation-harness sums to compare continuations). The first token has no score (`nil`: nothing
/// precedes it, as OpenAI and vLLM answer `null`).
///
/// A sequence that fits the model's window (its block size, at most ``maximumEvaluationWindow``) is one forward
/// pass. A longer one is scored in windows that slide by `stride` tokens (Hugging Face's strided perplexity): the
/// first window scores its tokens `1..<window`, each later window ends `stride` tokens further on and scores only
/// the tokens no window scored yet, so every token is scored once, with at least `window - stride` tokens before it
/// (all of them inside the first window). A smaller stride gives more context for more forward passes: stride 1
/// scores every token with a full window, one pass per token. The default, half the window, costs two passes per
/// window of text.
///
/// The matrix products run in `precision` (bf16 and q8 read `weights`, the rounded copies the server decodes with;
/// made here when nil). Log-probabilities are those of the raw model (temperature 1), as ``chooseToken`` reports.
///
/// ```swift
/// let scores = try scoreTokens(try tokenizer.encode("The cat sat"), model: model, alternatives: 5)
/// let total = scores.compactMap { $0?.logprob }.reduce(0, +)   // log P(text | its first token)
/// ```
/// Throws ``GPTError/invalidArgument(name:reason:)`` for a token outside the vocabulary or a stride below 1.
public func scoreTokens(_ tokens: [Int], model: any LanguageModel, alternatives: Int = 0, stride: Int? = nil,
                        precision: MatrixPrecision = .float32, weights: RoundedWeights? = nil) throws -> [TokenChoice?] {
    let vocabulary = model.configuration.vocabSize
    if let bad = tokens.first(where: { !(0..<vocabulary).contains($0) }) {
        throw GPTError.invalidArgument(name: "tokens", reason: "token \(bad) is outside the vocabulary 0..<\(vocabulary)")
    }
    let window = max(2, min(model.configuration.blockSize, maximumEvaluationWindow))
    let step = stride ?? window / 2
    guard (1..<window).contains(step) else {
        throw GPTError.invalidArgument(name: "stride", reason: "must be in 1..<\(window), got \(step)")
    }
    var scores = [TokenChoice?](repeating: nil, count: tokens.count)
    let rounded = precision == .float32 ? nil : weights ?? (model as? GPTLanguageModel).map { RoundedWeights($0.matrices) }
    KernelSettings.with(precision: precision, weights: rounded) {
        withoutGradient {
            var end = 0  // tokens before `end` are scored (token 0 needs no score)
            while end < tokens.count {
                let newEnd = min(tokens.count, end == 0 ? window : end + step), start = max(0, newEnd - window)
                let logits = model.forward(Array(tokens[start..<newEnd])).logits  // (1, newEnd - start, V)
                for position in max(1, end)..<max(1, newEnd) {
                    let row = UnsafeBufferPointer(start: logits.storage.pointer + (position - 1 - start) * vocabulary,
                                                  count: vocabulary)
                    scores[position] = tokenChoice(tokens[position], logits: row, alternatives: alternatives)
                }
                end = newEnd
            }
        }
    }
    return scores
}

/// `token`'s log-probability under `softmax(logits)` and the `alternatives` most likely tokens' (largest first).
func tokenChoice(_ token: Int, logits: UnsafeBufferPointer<Float>, alternatives: Int) -> TokenChoice {
    let total = logSumExp(logits)
    let top = alternatives > 0 ? largestIndices(Array(logits), count: alternatives) : []
    return TokenChoice(token: token, logprob: logits[token] - total, alternatives: top.map { ($0, logits[$0] - total) })
}

/// `log(sum(exp(values)))`, shifted by the largest value so that no exponential overflows (`-infinity` when empty).
func logSumExp(_ values: UnsafeBufferPointer<Float>) -> Float {
    guard let base = values.baseAddress, let maximum = values.max() else { return -.infinity }
    let sum = withUnsafeTemporaryAllocation(of: Float.self, capacity: values.count) { scratch in
        exponentials(out: scratch.baseAddress!, input: base, count: values.count, shift: maximum)
    }
    return log(sum) + maximum
}
