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
    /// Generation ends at any of these tokens (a chat template's end of turn), which is neither shown nor reported.
    public var stopTokens: Set<Int> = []
    /// How many of the most likely alternatives to report with each token's log-probability; 0 reports none.
    public var logprobs = 0
    /// Independent samples to draw (sample `i` uses seed `seed + i`).
    public var samples = 1
    /// The precision of the matrix products (``MatrixPrecision``): `fp32` is exact; `bf16` reads bfloat16 copies
    /// of the weights in KV-cached decoding (half the bytes per token).
    public var precision = MatrixPrecision.float32
    /// How a generation's KV cache holds keys and values (``KVCachePrecision``): `fp32` is exact; `fp16` halves the
    /// bytes attention reads per token, its logits moved by the rounding of keys and values.
    public var kvCache = KVCachePrecision.float32

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

    public init(token: Int, logprob: Float, alternatives: [(token: Int, logprob: Float)] = []) {
        (self.token, self.logprob, self.alternatives) = (token, logprob, alternatives)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.token == rhs.token && lhs.logprob == rhs.logprob
            && lhs.alternatives.map(\.token) == rhs.alternatives.map(\.token)
    }
}

/// Chooses the next token from `logits` (`[V]`) given the tokens so far, as ``SamplingOptions`` describes.
///
/// No step sorts the vocabulary: greedy is one pass, temperature alone draws by inverse CDF over the unsorted
/// probabilities, top-k selects its `k` tokens with a heap (``largestIndices(_:count:)``) and sorts only those, and
/// top-p sorts growing prefixes of the most likely tokens until they hold `topP` of the mass. Top-k and top-p draw
/// exactly as sorting every token would (``naiveChooseToken`` in `_TestSupport` is that reference).
public func chooseToken(
    logits: [Float], context: [Int], options: SamplingOptions, generator: inout SeededGenerator
) -> TokenChoice {
    let v = logits.count
    // Log-probabilities of the raw model, for reporting.
    let logTotal = logits.withUnsafeBufferPointer(logSumExp)
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
    } else if options.topK == nil || options.topK! >= v, options.topP >= 1 {
        chosen = drawUnsorted(adjusted, temperature: options.temperature, generator: &generator)
    } else {
        chosen = drawFromTop(adjusted, topK: min(options.topK ?? v, v), topP: options.topP,
                             temperature: options.temperature, generator: &generator)
    }
    let alternatives = largestIndices(logits, count: options.logprobs).map { ($0, logits[$0] - logTotal) }
    return TokenChoice(token: chosen, logprob: logits[chosen] - logTotal, alternatives: alternatives)
}

/// A draw from `softmax(logits / temperature)` by inverse CDF in token order: no sort (`temperature > 0`).
private func drawUnsorted(_ logits: [Float], temperature: Float, generator: inout SeededGenerator) -> Int {
    let scale = 1 / temperature
    var probabilities = logits.map { $0 * scale }
    let total = probabilities.withUnsafeMutableBufferPointer { p in
        exponentials(out: p.baseAddress!, input: p.baseAddress!, count: p.count, shift: p.max() ?? 0)
    }
    let target = Float(generator.nextDouble()) * total
    var cumulative: Float = 0
    for i in probabilities.indices {
        cumulative += probabilities[i]
        if target < cumulative { return i }
    }
    return probabilities.lastIndex { $0 > 0 } ?? 0
}

/// A draw among the `topK` most likely tokens, cut to the fewest whose probabilities (renormalised over the `topK`)
/// sum to `topP`. Sorts only the candidates: the `topK` tokens, or for top-p alone the tokens above a probability
/// threshold found by bisection to hold `topP` of the mass.
private func drawFromTop(_ logits: [Float], topK: Int, topP: Float, temperature: Float,
                         generator: inout SeededGenerator) -> Int {
    let top = logits.max() ?? 0
    let probability = { (token: Int) in exp((logits[token] - top) / temperature) }
    var order: [Int], total: Float
    if topK < logits.count {
        order = largestIndices(logits, count: topK)
        total = order.reduce(0) { $0 + probability($1) }
    } else {
        let all = logits.indices.map(probability)
        total = all.reduce(0, +)
        order = topPCandidates(all, mass: topP * total).sorted {
            logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1)
        }
    }
    while true {
        var probabilities = order.map(probability)
        var keep: Int? = topP < 1 ? nil : order.count
        var cumulative: Float = 0
        for (i, p) in probabilities.enumerated() where keep == nil {
            cumulative += p / total
            if cumulative >= topP { keep = i + 1 }
        }
        guard let keep else {  // rounding left the candidates just short of top-p: every token
            order = largestIndices(logits, count: logits.count)
            continue
        }
        probabilities = Array(probabilities.prefix(keep))
        return order[sampleIndex(probabilities: probabilities, generator: &generator)]
    }
}

/// The tokens whose probability reaches a threshold that keeps at least `mass` of `probabilities`' sum (the top-p
/// set and a few more), in token order: 30 bisection passes over the unsorted probabilities (each in `[0, 1]`).
private func topPCandidates(_ probabilities: [Float], mass: Float) -> [Int] {
    var low: Float = 0, high: Float = 1
    for _ in 0..<30 {
        let middle = (low + high) / 2
        var held: Float = 0
        for p in probabilities where p >= middle { held += p }
        if held >= mass { low = middle } else { high = middle }
    }
    let threshold = low / 2  // a margin for rounding: the cut is made on the sorted candidates
    return probabilities.indices.filter { probabilities[$0] >= threshold }
}

/// The indices of the `count` largest of `values`, largest first (ties: the lower index first), by a min-heap of
/// `count` entries: `O(V log count)`, not a sort of all `V` (which it falls back to beyond `V / 8`).
public func largestIndices(_ values: [Float], count: Int) -> [Int] {
    let count = min(max(0, count), values.count)
    guard count > 0 else { return [] }
    // `ranksBelow(a, b)`: a ranks after b (smaller, or equal with a higher index). The heap's root ranks last.
    func ranksBelow(_ a: Int, _ b: Int) -> Bool { values[a] < values[b] || (values[a] == values[b] && a > b) }
    if count > values.count / 8 { return Array(values.indices.sorted { ranksBelow($1, $0) }.prefix(count)) }
    var heap = [Int]()
    heap.reserveCapacity(count)
    func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var lowest = parent
            if left < heap.count, ranksBelow(heap[left], heap[lowest]) { lowest = left }
            if right < heap.count, ranksBelow(heap[right], heap[lowest]) { lowest = right }
            if lowest == parent { return }
            heap.swapAt(parent, lowest)
            parent = lowest
        }
    }
    for index in values.indices {
        if heap.count < count {
            heap.append(index)
            var child = heap.count - 1
            while child > 0, ranksBelow(heap[child], heap[(child - 1) / 2]) {
                heap.swapAt(child, (child - 1) / 2)
                child = (child - 1) / 2
            }
        } else if ranksBelow(heap[0], index) {
            heap[0] = index
            siftDown(0)
        }
    }
    return heap.sorted { ranksBelow($1, $0) }
}
