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
/// block size, as the lecture does) and generates, both on ``GenerationThreads``, reporting pieces as they come.
public final class CompletionService: @unchecked Sendable {
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    public let modelName: String
    public let created = Int(Date().timeIntervalSince1970)
    /// The precision of every generation's matrix products (`gpt serve --precision`).
    public let precision: MatrixPrecision
    public let promptLimits: PromptLimits
    let slots: GenerationSlots
    /// One long-lived thread per slot: tokenizing and generating never run on the cooperative pool.
    let threads: GenerationThreads
    /// The weights' rounded copies, made once and shared by every generation (bf16).
    private let roundedWeights: RoundedWeights?
    /// The checkpoint's chat template and end of turn, or why `/v1/chat/completions` cannot serve it.
    let chat: Result<ChatFormat, any Error>

    public init(checkpoint: Checkpoint, modelName: String, parallel: Int = 2, queueLimit: Int = 16,
                precision: MatrixPrecision = .float32, promptLimits: PromptLimits = PromptLimits()) {
        model = checkpoint.model
        tokenizer = checkpoint.tokenizer
        self.modelName = modelName
        self.precision = precision
        self.promptLimits = promptLimits
        let gpt = checkpoint.model as? GPTLanguageModel
        roundedWeights = precision == .float32 ? nil : gpt.map { RoundedWeights($0.matrices) }
        chat = Result { try ChatFormat(checkpoint: checkpoint, folder: modelName) }
        slots = GenerationSlots(parallel: max(1, parallel), queueLimit: max(0, queueLimit))
        threads = GenerationThreads(count: max(1, parallel))
    }

    // MARK: - Admission

    /// A request let in: the slot it holds (release it when its generation ends) and its prompts' tokens.
    struct Admission: Sendable {
        let slot: HeldSlot
        /// Each prompt's tokens, cropped to the last `blockSize`; `cropped` says how many were dropped.
        let prompts: [(tokens: [Int], cropped: Int)]
    }

    /// Checks the prompts' size, waits for a slot (or throws a 503 when the queue is full) and tokenizes the prompts
    /// on a generation thread; `nil` when the client left while queued.
    func admit(_ prompts: [String], ticket: UUID) async throws -> Admission? {
        let bytes = prompts.reduce(0) { $0 + $1.utf8.count }
        guard bytes <= promptLimits.bytes else {
            throw Self.promptTooLong("the prompt is \(bytes) bytes; this server accepts at most \(promptLimits.bytes) (--max-prompt-bytes)")
        }
        guard try await slots.acquire(ticket) else { return nil }
        let slot = HeldSlot(slots)
        do {
            return Admission(slot: slot, prompts: try await threads.run { [self] in try promptTokens(prompts) })
        } catch {
            slot.release()
            throw error
        }
    }

    static func promptTooLong(_ message: String) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: "prompt", code: "prompt_too_long")
    }

    /// The prompts' tokens, each cropped to the last `blockSize`; throws a 400 past ``PromptLimits/tokens``.
    func promptTokens(_ prompts: [String]) throws -> [(tokens: [Int], cropped: Int)] {
        var total = 0
        return try prompts.map { prompt in
            let tokens: [Int]
            do { tokens = try tokenizer.encode(prompt) } catch let error as GPTError {
                throw APIError.invalid("prompt", error.description)
            }
            total += tokens.count
            guard total <= promptLimits.tokens else {
                throw Self.promptTooLong("the prompt is over \(promptLimits.tokens) tokens, the most this server accepts (--max-prompt-tokens)")
            }
            let start = tokens.isEmpty ? [0] : tokens
            let kept = Array(start.suffix(model.configuration.blockSize))
            return (kept, start.count - kept.count)
        }
    }

    // MARK: - Generation

    /// Generates every choice of `request` (each prompt times `n`), one after another on a generation thread,
    /// sending events to `events`; stops early when `cancelled` is set. Throws a 500 when the model's logits stop
    /// being finite (weights that overflow: a NaN or infinite log-probability is an error, never a silent answer).
    func generate(_ request: CompletionRequest, prompts: [[Int]], cancelled: CancellationFlag,
                  events: @escaping @Sendable (CompletionEvent) -> Void) async throws {
        try await threads.run { [self] in
            let generator = TextGenerator(model: model, tokenizer: tokenizer, roundedWeights: roundedWeights)
            var index = 0
            for prompt in prompts {
                for sample in 0..<request.options.samples {
                    var options = request.options
                    options.precision = precision
                    options.samples = 1
                    var generated = 0, nonFinite = false
                    let reason: FinishReason
                    do {
                        reason = try generator.generate(prompt: prompt, options: options, sample: sample) { piece in
                            if piece.tokens.contains(where: { !$0.logprob.isFinite }) {
                                nonFinite = true
                                return false
                            }
                            generated += piece.tokens.count
                            if cancelled.isSet { return false }
                            events(.piece(index: index, text: piece.text, tokens: piece.tokens))
                            return true
                        }
                    } catch {
                        throw APIError(status: 500, message: "generation failed: \(error)", type: "server_error",
                                       param: nil, code: "generation_failed")
                    }
                    if nonFinite { throw Self.nonFiniteLogits(after: generated) }
                    events(.finished(index: index, reason: reason))
                    index += 1
                    if cancelled.isSet { return }
                }
            }
        }
    }

    static func nonFiniteLogits(after tokens: Int) -> APIError {
        APIError(status: 500, message: "the model's logits are not finite (NaN or infinity) after \(tokens) generated tokens: "
                     + "its weights overflow in float32; this checkpoint cannot generate",
                 type: "server_error", param: nil, code: "non_finite_logits")
    }
}
