import Foundation
import LanguageModels
import TensorModule

/// One streamed event of a completion: a piece of text of choice `index`, its end, or the error that ended the
/// whole request.
enum CompletionEvent: Sendable {
    case piece(index: Int, text: String, tokens: [TokenChoice])
    case finished(index: Int, reason: FinishReason)
    case failed(APIError)
}

/// What a request may send as its prompts: at most `bytes` UTF-8 bytes and `tokens` tokens over all of them
/// (`gpt serve --max-prompt-bytes`, `--max-prompt-tokens`). The bytes are counted before the request queues, the
/// tokens as its prompts are tokenized; either over its limit is a 400.
public struct PromptLimits: Sendable {
    public var bytes: Int
    public var tokens: Int

    /// 1 MiB and 256 Ki tokens: a megabyte of text is accepted, and tokenizes in seconds at most.
    public init(bytes: Int = 1 << 20, tokens: Int = 1 << 18) {
        self.bytes = bytes
        self.tokens = tokens
    }
}

/// The model behind the API: admits requests into ``GenerationSlots``, tokenizes their prompts (cropping them to the
/// block size, as the lecture does) on ``GenerationThreads``, and generates in one ``DecodingBatch`` (continuous
/// batching: every running request advances in one forward pass per token), reporting pieces as they come.
public final class CompletionService: @unchecked Sendable {
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    public let modelName: String
    public let created = Int(Date().timeIntervalSince1970)
    /// The precision of every generation's matrix products (`gpt serve --precision`).
    public let precision: MatrixPrecision
    /// How every generation's KV cache holds keys and values (`gpt serve --kv-cache`).
    public let kvCache: KVCachePrecision
    /// The rounded copies of the weights that bf16 and q8 read, shared by the batch and prompt scoring.
    let roundedWeights: RoundedWeights?
    public let promptLimits: PromptLimits
    let slots: GenerationSlots
    /// One long-lived thread per slot for tokenizing: it never runs on the cooperative pool.
    let threads: GenerationThreads
    /// Every running generation, advanced together one token per step on a thread of its own (at most `parallel`).
    let batch: DecodingBatch
    /// What `GET /metrics` reports.
    let metrics = ServerMetrics()
    /// The checkpoint's chat template and end of turn, or why `/v1/chat/completions` cannot serve it.
    let chat: Result<ChatFormat, any Error>

    public init(checkpoint: Checkpoint, modelName: String, parallel: Int = 2, queueLimit: Int = 16,
                precision: MatrixPrecision = .float32, promptLimits: PromptLimits = PromptLimits(),
                batching: BatchingOptions = BatchingOptions()) {
        model = checkpoint.model
        tokenizer = checkpoint.tokenizer
        self.modelName = modelName
        self.precision = precision
        kvCache = batching.kvCache
        self.promptLimits = promptLimits
        chat = Result { try ChatFormat(checkpoint: checkpoint, folder: modelName) }
        slots = GenerationSlots(parallel: max(1, parallel), queueLimit: max(0, queueLimit))
        threads = GenerationThreads(count: max(1, parallel))
        roundedWeights = precision == .float32 ? nil : (model as? GPTLanguageModel).map { RoundedWeights($0.matrices) }
        batch = DecodingBatch(model: model, tokenizer: tokenizer, limit: max(1, parallel), precision: precision,
                              roundedWeights: roundedWeights, prefillChunk: batching.prefillChunk,
                              prefixCache: batching.makePrefixCache(), threads: batching.threads)
        let batch = self.batch, metrics = self.metrics
        batch.onStep = { metrics.step($0) }
        let thread = Thread { batch.run() }
        thread.name = "swift-gpt.batch"
        thread.stackSize = 8 << 20
        thread.start()
    }

    deinit { batch.shutDown() }

    // MARK: - Admission

    /// A request let in: the slot it holds (release it when its generation ends) and its prompts' tokens.
    struct Admission: Sendable {
        let slot: HeldSlot
        /// Each prompt's tokens, cropped to the last `blockSize`; `cropped` says how many were dropped.
        let prompts: [(tokens: [Int], cropped: Int)]
        /// Each prompt's tokens as sent, uncropped (none for an empty text): what `echo` scores.
        let whole: [[Int]]
    }

    /// Checks the prompts' size, waits for a slot (or throws a 503 when the queue is full) and tokenizes the prompts
    /// on a generation thread; `nil` when the client left while queued.
    func admit(_ prompts: [CompletionRequest.Prompt], ticket: UUID) async throws -> Admission? {
        let bytes = prompts.reduce(0) { total, prompt in
            if case .text(let text) = prompt { return total + text.utf8.count }
            return total
        }
        guard bytes <= promptLimits.bytes else {
            throw Self.promptTooLong("the prompt is \(bytes) bytes; this server accepts at most \(promptLimits.bytes) (--max-prompt-bytes)")
        }
        guard try await slots.acquire(ticket) else { return nil }
        let slot = HeldSlot(slots)
        do {
            let whole = try await threads.run { [self] in try promptTokens(prompts) }
            return Admission(slot: slot, prompts: whole.map(cropped), whole: whole)
        } catch {
            slot.release()
            throw error
        }
    }

    static func promptTooLong(_ message: String) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: "prompt", code: "prompt_too_long")
    }

    /// The prompts' tokens: texts tokenized, ids checked against the vocabulary; throws a 400 past
    /// ``PromptLimits/tokens``.
    func promptTokens(_ prompts: [CompletionRequest.Prompt]) throws -> [[Int]] {
        var total = 0
        let vocabulary = min(tokenizer.vocabularySize, model.configuration.vocabSize)
        return try prompts.map { prompt in
            let tokens: [Int]
            switch prompt {
            case .text(let text):
                do { tokens = try tokenizer.encode(text) } catch let error as GPTError {
                    throw APIError.invalid("prompt", error.description)
                }
            case .tokens(let ids):
                if let bad = ids.first(where: { $0 >= vocabulary }) {
                    throw APIError.invalid("prompt", "token id \(bad) is outside this model's vocabulary 0..<\(vocabulary)")
                }
                tokens = ids
            }
            total += tokens.count
            guard total <= promptLimits.tokens else {
                throw Self.promptTooLong("the prompt is over \(promptLimits.tokens) tokens, the most this server accepts (--max-prompt-tokens)")
            }
            return tokens
        }
    }

    /// What generation starts from: the last `blockSize` of `tokens` (token 0 for none, as the lecture), and how
    /// many were dropped.
    func cropped(_ tokens: [Int]) -> (tokens: [Int], cropped: Int) {
        let start = tokens.isEmpty ? [0] : tokens
        let kept = Array(start.suffix(model.configuration.blockSize))
        return (kept, start.count - kept.count)
    }

    /// Every token's log-probability in each of `prompts` and its `alternatives` most likely tokens
    /// (``scoreTokens(_:model:alternatives:stride:precision:weights:)`` in the server's precision: windows sliding by
    /// half the block size past it), on a generation thread; a 500 when the model's logits are not finite.
    func score(_ prompts: [[Int]], alternatives: Int) async throws -> [[TokenChoice?]] {
        try await threads.run { [self] in
            try prompts.map { tokens in
                let scores = try scoreTokens(tokens, model: model, alternatives: alternatives, precision: precision,
                                             weights: roundedWeights)
                guard scores.allSatisfy({ $0?.logprob.isFinite ?? true }) else { throw Self.nonFiniteLogits(after: 0) }
                return scores
            }
        }
    }

    // MARK: - Generation

    /// Generates every choice of `request` (each prompt times `n`), one after another, each in the shared
    /// ``DecodingBatch`` beside the other requests' generations, sending events to `events`; stops early when
    /// `cancelled` is set. `arrival` (when the request came) starts its time to first token. Throws a 500 when the model's logits stop being finite (weights that overflow: a NaN or
    /// infinite log-probability is an error, never a silent answer).
    func generate(_ request: CompletionRequest, prompts: [[Int]], cancelled: CancellationFlag,
                  arrival: ContinuousClock.Instant = .now,
                  events: @escaping @Sendable (CompletionEvent) -> Void) async throws {
        var index = 0
        let timing = TokenTiming(arrival), metrics = self.metrics
        guard request.options.maxNewTokens > 0 else {  // echo scoring the prompt only
            for index in 0..<(prompts.count * request.options.samples) { events(.finished(index: index, reason: .length)) }
            return
        }
        for prompt in prompts {
            for sample in 0..<request.options.samples {
                var options = request.options
                (options.precision, options.kvCache) = (precision, kvCache)
                options.samples = 1
                let progress = ChoiceProgress(), choice = index
                let reason: FinishReason
                do {
                    reason = try await withCheckedThrowingContinuation { continuation in
                        batch.submit(DecodingBatch.Request(
                            prompt: prompt, options: options, sample: sample,
                            onPiece: { piece in
                                if piece.tokens.contains(where: { !$0.logprob.isFinite }) {
                                    progress.nonFinite = true
                                    return false
                                }
                                progress.generated += piece.tokens.count
                                let (seconds, first) = timing.lap()
                                metrics.tokens(piece.tokens.count, seconds: seconds, first: first)
                                if cancelled.isSet { return false }
                                events(.piece(index: choice, text: piece.text, tokens: piece.tokens))
                                return true
                            },
                            isCancelled: { cancelled.isSet },
                            onFinish: { continuation.resume(with: $0) }))
                    }
                } catch {
                    throw APIError(status: 500, message: "generation failed: \(error)", type: "server_error",
                                   param: nil, code: "generation_failed")
                }
                if progress.nonFinite { throw Self.nonFiniteLogits(after: progress.generated) }
                events(.finished(index: index, reason: reason))
                index += 1
                if cancelled.isSet { return }
            }
        }
    }

    static func nonFiniteLogits(after tokens: Int) -> APIError {
        APIError(status: 500, message: "the model's logits are not finite (NaN or infinity) after \(tokens) generated tokens: "
                     + "its weights overflow in float32; this checkpoint cannot generate",
                 type: "server_error", param: nil, code: "non_finite_logits")
    }
}

/// What a choice's `onPiece` saw, read once its generation finished (written on the batch's thread only).
private final class ChoiceProgress: @unchecked Sendable {
    var generated = 0
    var nonFinite = false
}

/// The time since a request's previous token (or its arrival), on the batch's thread only.
private final class TokenTiming: @unchecked Sendable {
    private var last: ContinuousClock.Instant
    private var started = false

    init(_ arrival: ContinuousClock.Instant) { last = arrival }

    /// Seconds since the previous lap, and whether this is the first.
    func lap() -> (seconds: Double, first: Bool) {
        let now = ContinuousClock.now, elapsed = last.duration(to: now)
        defer { (last, started) = (now, true) }
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18, !started)
    }
}
