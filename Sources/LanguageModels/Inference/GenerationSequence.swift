import Foundation
import TensorModule

/// One generation between its steps: the tokens so far, its own sampling generator and KV cache, and the text it
/// has yet to release. ``TextGenerator`` steps one of these at a time; ``DecodingBatch`` steps many together, their
/// logits from one batched forward pass, so a request samples the same tokens alone or batched.
///
/// A step is: the next-token logits (``nextLogits(model:)``; in a batch, a row of
/// ``GPTLanguageModel/decode(_:caches:)`` for the token ``pendingToken`` names, or the last of the chunks of
/// ``prefillChunk(model:limit:prefixCache:)``), then ``advance(logits:onPiece:)``.
struct GenerationSequence {
    let options: SamplingOptions
    /// The prompt and every token chosen since.
    private(set) var context: [Int]
    /// The sampling generator, seeded `options.seed + sample`.
    private var generator: SeededGenerator
    /// The keys and values of `context[cacheStart...]` (a GPT), or nil.
    let cache: KVCache?
    /// Where in `context` the window the cache holds begins (0 until the context passes the block size).
    private(set) var cacheStart = 0
    private var stream: StopSequenceFilter
    /// Tokens chosen so far.
    private(set) var generated = 0

    /// A generation of `prompt` (not empty), sample number `sample` (its seed `options.seed + sample`).
    init(prompt: [Int], options: SamplingOptions, sample: Int, model: any LanguageModel, tokenizer: Tokenizer) {
        self.options = options
        context = prompt
        generator = SeededGenerator(seed: options.seed &+ UInt64(sample))
        // Room for the prompt and every new token, at most the block size (then the window slides and is prefilled).
        let (positions, overflow) = prompt.count.addingReportingOverflow(options.maxNewTokens)
        cache = (model as? GPTLanguageModel).map {
            KVCache($0.configuration, positions: overflow ? nil : positions, precision: options.kvCache)
        }
        stream = StopSequenceFilter(stops: options.stop, tokenizer: tokenizer)
    }

    /// The token whose one-row decode on ``cache`` gives the next logits, when the cache holds every token before
    /// it (nil: the first step, a model without a cache, or a window that slid past the block size and must be
    /// prefilled again).
    func pendingToken(blockSize: Int) -> Int? {
        guard let cache, cache.count > 0, cache.count == context.count - 1, context.count <= blockSize else { return nil }
        return context[context.count - 1]
    }

    /// The next-token logits for `context`, cropped to the block size as the lecture does. With a cache, a token
    /// that extends the cached context costs one row per layer; when the window slides (the context passed the
    /// block size) every position moves, so the cropped context is prefilled again, which keeps the output equal
    /// to the uncached model's.
    func nextLogits(model: any LanguageModel) -> [Float] {
        let blockSize = model.configuration.blockSize
        if let cache, let gpt = model as? GPTLanguageModel {
            if let token = pendingToken(blockSize: blockSize) { return gpt.decode(token, cache: cache) }
            return gpt.prefill(Array(context.suffix(blockSize)), cache: cache)
        }
        return withoutGradient {
            let logits = model.forward(Array(context.suffix(blockSize))).logits
            let v = model.configuration.vocabSize
            return Array(UnsafeBufferPointer(start: logits.storage.pointer + (logits.count - v), count: v))
        }
    }

    /// The window of `context` the model reads (its last `blockSize` tokens), as far as the cache holds it.
    var cachedWindow: ArraySlice<Int> { context[cacheStart..<(cacheStart + (cache?.count ?? 0))] }

    /// Whether the cache holds the window but for its last token at most (which a decoding step runs).
    var isPrefilled: Bool { cacheStart + (cache?.count ?? 0) >= context.count - 1 }

    /// Chunked prefill: runs the next at most `limit` tokens of the window (the context cropped to the block size)
    /// that the cache lacks through `model` (``GPTLanguageModel/extend(_:cache:)``), and returns the next-token
    /// logits once the window is all in the cache (then the sequence may advance), else nil, and the tokens run. A
    /// window that slid is prefilled again from its start. An empty cache first takes the longest prefix of the
    /// window that `prefixCache` holds (all but the last token at most, whose logits are needed).
    mutating func prefillChunk(model: GPTLanguageModel, limit: Int, prefixCache: PrefixCache?)
        -> (logits: [Float]?, tokens: Int) {
        guard let cache else { preconditionFailure("a GPT's sequence has a cache") }
        let windowStart = max(0, context.count - model.configuration.blockSize)
        if windowStart != cacheStart {
            cache.reset()
            cacheStart = windowStart
        }
        if cache.count == 0, let prefixCache { prefixCache.restore(context[windowStart...], into: cache) }
        let first = cacheStart + cache.count, end = min(context.count, first + max(1, limit))
        let logits = model.extend(Array(context[first..<end]), cache: cache)
        return (end == context.count ? logits : nil, end - first)
    }

    /// Chooses the next token from `logits` (`[V]`) and releases the text now safe to show through `onPiece`
    /// (which returns `false` to stop). Returns why the generation ended, or nil while it goes on: `.stop` at a stop
    /// sequence, one of `options.stopTokens` or when `onPiece` stops it, `.length` after `options.maxNewTokens`.
    mutating func advance(logits: [Float], onPiece: (GeneratedPiece) -> Bool) -> FinishReason? {
        let choice = chooseToken(logits: logits, context: context, options: options, generator: &generator)
        if options.stopTokens.contains(choice.token) { return finish(.stop, onPiece: onPiece) }
        context.append(choice.token)
        generated += 1
        let (piece, stopped) = stream.push(choice)
        if let piece, !onPiece(piece) { return .stop }
        if stopped { return .stop }
        return generated >= options.maxNewTokens ? finish(.length, onPiece: onPiece) : nil
    }

    /// Releases whatever text is held back and ends with `reason`.
    private mutating func finish(_ reason: FinishReason, onPiece: (GeneratedPiece) -> Bool) -> FinishReason {
        if let rest = stream.flush() { _ = onPiece(rest) }
        return reason
    }
}
