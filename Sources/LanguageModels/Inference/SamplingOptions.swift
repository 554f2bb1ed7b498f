#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import TensorModule

/// How the next token is chosen from the model's logits.
///
/// Applied in this order: repetition penalty, temperature (0 picks the most likely token), top-k, top-p (the
/// smallest set of tokens whose probabilities sum to at least `topP`), then a draw from what is left.
public struct SamplingOptions: Sendable, Equatable {
    public var maxNewTokens = 500
    public var temperature: Float = 1
    /// Keep only the `topK` most likely tokens; `nil` keeps all.
    public var topK: Int?
    public var topP: Float = 1
    /// Divides the positive logits (multiplies the negative ones) of tokens already in the context; 1 is off.
    public var repetitionPenalty: Float = 1
    public var seed: UInt64 = 1337
    /// Generation ends before any of these strings; none of a stop string is ever printed.
    public var stop: [String] = []
    /// How many of the most likely alternatives to report with each token's log-probability; 0 reports none.
    public var logprobs = 0
    /// Independent samples to draw (sample `i` uses seed `seed + i`).
    public var samples = 1
    /// The precision of the matrix products (``MatrixPrecision``): `fp32` is exact; `bf16` reads bfloat16 copies
    /// of the weights in KV-cached decoding (half the bytes per token).
    public var precision = MatrixPrecision.float32

    public init() {}

    /// Throws naming the first option out of range.
    public func validate() throws {
        func fail(_ name: String, _ reason: String) -> GPTError { .invalidArgument(name: name, reason: reason) }
        if maxNewTokens <= 0 { throw fail("max new tokens", "must be positive, got \(maxNewTokens)") }
        if !(temperature >= 0 && temperature.isFinite) { throw fail("temperature", "must be 0 or more, got \(temperature)") }
        if let topK, topK < 1 { throw fail("top-k", "must be at least 1, got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw fail("top-p", "must be in (0, 1], got \(topP)") }
        if !(repetitionPenalty > 0 && repetitionPenalty.isFinite) {
            throw fail("repetition penalty", "must be positive, got \(repetitionPenalty)")
        }
        if !(0...20).contains(logprobs) { throw fail("logprobs", "must be between 0 and 20, got \(logprobs)") }
        if !(1...64).contains(samples) { throw fail("samples", "must be between 1 and 64, got \(samples)") }
        if stop.contains(where: \.isEmpty) { throw fail("stop", "stop sequences must not be empty") }
    }
}

/// One chosen token with its log-probability under the model (temperature 1) and the most likely alternatives.
public struct TokenChoice: Sendable, Equatable {
    public var token: Int
    public var logprob: Float
    public var alternatives: [(token: Int, logprob: Float)]

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.token == rhs.token && lhs.logprob == rhs.logprob
            && lhs.alternatives.map(\.token) == rhs.alternatives.map(\.token)
    }
}

/// Chooses the next token from `logits` (`[V]`) given the tokens so far, as ``SamplingOptions`` describes.
public func chooseToken(
    logits: [Float], context: [Int], options: SamplingOptions, generator: inout SeededGenerator
) -> TokenChoice {
    let v = logits.count
    // Log-probabilities of the raw model, for reporting.
    let maximum = logits.max() ?? 0
    let logTotal = log(logits.reduce(Float(0)) { $0 + exp($1 - maximum) }) + maximum
    var adjusted = logits
    if options.repetitionPenalty != 1 {
        for token in Set(context) where token >= 0 && token < v {
            adjusted[token] = adjusted[token] > 0
                ? adjusted[token] / options.repetitionPenalty : adjusted[token] * options.repetitionPenalty
        }
    }
    let chosen: Int
    if options.temperature == 0 || options.topK == 1 {
        chosen = adjusted.indices.max { adjusted[$0] < adjusted[$1] || (adjusted[$0] == adjusted[$1] && $0 > $1) } ?? 0
    } else {
        var order = Array(0..<v).sorted { adjusted[$0] > adjusted[$1] || (adjusted[$0] == adjusted[$1] && $0 < $1) }
        if let k = options.topK { order = Array(order.prefix(k)) }
        let top = adjusted[order[0]]
        var probabilities = order.map { exp((adjusted[$0] - top) / options.temperature) }
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
        chosen = order[sampleIndex(probabilities: probabilities, generator: &generator)]
    }
    var alternatives: [(token: Int, logprob: Float)] = []
    if options.logprobs > 0 {
        let ranked = Array(0..<v).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        alternatives = ranked.prefix(options.logprobs).map { ($0, logits[$0] - logTotal) }
    }
    return TokenChoice(token: chosen, logprob: logits[chosen] - logTotal, alternatives: alternatives)
}
