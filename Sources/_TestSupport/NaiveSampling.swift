import Foundation
import LanguageModels
import TensorModule

/// The token `chooseToken` draws, found the plain way: every token sorted by logit (ties: the lower index first),
/// cut to the top k, then to the smallest prefix holding `topP` of the mass, then a draw over that prefix in sorted
/// order. The reference for the partial selections of ``chooseToken(logits:context:options:generator:)`` (whose
/// top-k and top-p draws equal these for the same generator; temperature alone draws over unsorted tokens, so only
/// its distribution matches). Repetition penalty and log-probabilities are not modelled.
public func naiveChooseToken(logits: [Float], options: SamplingOptions, generator: inout SeededGenerator) -> Int {
    if options.temperature == 0 || options.topK == 1 {
        return logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) } ?? 0
    }
    var order = Array(logits.indices).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
    if let k = options.topK { order = Array(order.prefix(k)) }
    let top = logits[order[0]]
    var probabilities = order.map { exp((logits[$0] - top) / options.temperature) }
    let total = probabilities.reduce(0, +)
    if options.topP < 1 {
        var cumulative: Float = 0
        var keep = probabilities.count
        for (i, p) in probabilities.enumerated() {
            cumulative += p / total
            if cumulative >= options.topP {
                keep = i + 1
                break
            }
        }
        probabilities = Array(probabilities.prefix(keep))
    }
    return order[sampleIndex(probabilities: probabilities, generator: &generator)]
}
