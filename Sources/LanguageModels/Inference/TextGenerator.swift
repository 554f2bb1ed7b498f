import Foundation
import TensorModule

/// Why generation ended (OpenAI's `finish_reason`).
public enum FinishReason: String, Sendable, Codable { case stop, length }

/// A piece of generated text, released once it can no longer turn out to be part of a stop sequence, with the
/// tokens it completes.
public struct GeneratedPiece: Sendable {
    public var text: String
    public var tokens: [TokenChoice]
}

/// Generates text from a loaded model: KV-cached for a GPT, streamed piece by piece, with stop sequences held back.
///
/// ```swift
/// let generator = try TextGenerator(checkpoint: URL(fileURLWithPath: "runs/baby"))
/// for try await piece in generator.stream(prompt: "ROMEO:", options: options) { print(piece, terminator: "") }
/// ```
/// One generation runs at a time per instance (the model's scratch state is not shared across threads).
public final class TextGenerator: @unchecked Sendable {
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    private let lock = NSLock()
    private var roundedWeights: RoundedWeights?

    /// `roundedWeights`: the rounded copies of `model`'s matrices to share between generators; without them, the
    /// first generation with `precision = .bfloat16` makes them (and keeps them: make a new generator after
    /// training more).
    public init(model: any LanguageModel, tokenizer: Tokenizer, roundedWeights: RoundedWeights? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.roundedWeights = roundedWeights
    }

    /// Loads a checkpoint directory written by `gpt train`.
    public convenience init(checkpoint: URL) throws {
        let loaded = try Checkpoint.load(from: checkpoint)
        self.init(model: loaded.model, tokenizer: loaded.tokenizer)
    }

    /// The prompt's tokens; an empty prompt starts from token 0 (a newline for tiny shakespeare), as the lecture.
    public func promptTokens(_ prompt: String) throws -> [Int] {
        try promptTokens(prompt, skippingUnknown: false).tokens
    }

    /// The prompt's tokens, leaving out text outside the vocabulary when `skippingUnknown` (``UnknownText`` says
    /// what), else refusing it.
    public func promptTokens(_ prompt: String, skippingUnknown: Bool) throws -> (tokens: [Int], skipped: UnknownText) {
        let (tokens, skipped) = try tokenizer.encode(prompt, skippingUnknown: skippingUnknown)
        return (tokens.isEmpty ? [0] : tokens, skipped)
    }

    /// Generates up to `options.maxNewTokens` tokens after `prompt` (one sample, seed `options.seed + sample`),
    /// calling `onPiece` with text as soon as it is safe to show; `onPiece` returns `false` to stop early; every
    /// matrix product in `options.precision`. Returns why generation ended: `.stop` at a stop sequence, one of
    /// `options.stopTokens` or when `onPiece` stops it, `.length` after `options.maxNewTokens` tokens.
    @discardableResult
    public func generate(
        prompt: [Int], options: SamplingOptions, sample: Int = 0, onPiece: (GeneratedPiece) -> Bool
    ) throws -> FinishReason {
        try options.validate()
        lock.lock()
        defer { lock.unlock() }
        let gpt = model as? GPTLanguageModel
        if let gpt, options.precision != .float32, roundedWeights == nil { roundedWeights = RoundedWeights(gpt.matrices) }
        let weights = options.precision != .float32 ? roundedWeights : nil
        var sequence = GenerationSequence(prompt: prompt, options: options, sample: sample, model: model, tokenizer: tokenizer)
        while true {
            let logits = KernelSettings.with(precision: options.precision, weights: weights) { sequence.nextLogits(model: model) }
            if let reason = sequence.advance(logits: logits, onPiece: onPiece) { return reason }
        }
    }

    /// The generated text after `prompt` as an `AsyncSequence` of pieces; cancelling the consuming task stops
    /// generation at the next token.
    public func stream(prompt: String, options: SamplingOptions) -> AsyncThrowingStream<String, Error> {
        AsyncThrowingStream { continuation in
            let cancelled = CancellationFlag()
            continuation.onTermination = { _ in cancelled.set() }
            let task = Task.detached { [self] in
                do {
                    let tokens = try promptTokens(prompt)
                    try generate(prompt: tokens, options: options) { piece in
                        if cancelled.isSet || Task.isCancelled { return false }
                        continuation.yield(piece.text)
                        return true
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            _ = task
        }
    }
}

/// A flag set from one thread (or a signal handler's queue) and read from another.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    public init() {}
    public var isSet: Bool { lock.withLock { value } }
    public func set() { lock.withLock { value = true } }
}
