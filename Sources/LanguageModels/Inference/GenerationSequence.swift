import Foundation
import TensorModule

/// One generation between its steps: the tokens so far, its own sampling generator and KV cache, and the text it
/// has yet to release. ``TextGenerator`` steps one of these at a time; ``DecodingBatch`` steps many together, their
/// logits from one batched forward pass, so a request samples the same tokens alone or batched.
///
/// A step is: the next-token logits (``nextLogits(model:)``, or a row of ``GPTLanguageModel/decode(_:caches:)`` for
/// the token ``pendingToken`` names), then ``advance(logits:onPiece:)``.
struct GenerationSequence {
    let options: SamplingOptions
    /// The prompt and every token chosen since.
    private(set) var context: [Int]
    /// The sampling generator, seeded `options.seed + sample`.
    private var generator: SeededGenerator
    /// The keys and values of `context` (a GPT), or nil.
    let cache: KVCache?
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
        cache = (model as? GPTLanguageModel).map { KVCache($0.configuration, positions: overflow ? nil : positions) }
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
