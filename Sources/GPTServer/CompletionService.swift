import Foundation
import LanguageModels
import TensorModule

/// One streamed event of a completion: a piece of text of choice `index`, or its end.
enum CompletionEvent: Sendable {
    case piece(index: Int, text: String, tokens: [TokenChoice])
    case finished(index: Int, reason: FinishReason)
}

/// The model behind the API: tokenizes prompts (cropping them to the block size, as the lecture does), runs
/// each generation on a thread of its own (``runOnGenerationThread(_:)``) and reports pieces as they come.
public final class CompletionService: @unchecked Sendable {
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    public let modelName: String
    public let created = Int(Date().timeIntervalSince1970)
    /// The precision of every generation's matrix products (`gpt serve --precision`).
    public let precision: MatrixPrecision
    let slots: GenerationSlots
    /// The weights' rounded copies, made once and shared by every generation (bf16).
    private let roundedWeights: RoundedWeights?

    public init(checkpoint: Checkpoint, modelName: String, parallel: Int = 2, queueLimit: Int = 16,
                precision: MatrixPrecision = .float32) {
        model = checkpoint.model
        tokenizer = checkpoint.tokenizer
        self.modelName = modelName
        self.precision = precision
        let gpt = checkpoint.model as? GPTLanguageModel
        roundedWeights = precision == .float32 ? nil : gpt.map { RoundedWeights($0.matrices) }
        slots = GenerationSlots(parallel: max(1, parallel), queueLimit: max(0, queueLimit))
    }

    /// The prompt's tokens, cropped to the last `blockSize`; `cropped` says whether anything was dropped.
    func promptTokens(_ prompt: String) throws -> (tokens: [Int], cropped: Int) {
        let tokens: [Int]
        do { tokens = try tokenizer.encode(prompt) } catch let error as GPTError {
            throw APIError.invalid("prompt", error.description)
        }
        let start = tokens.isEmpty ? [0] : tokens
        let kept = Array(start.suffix(model.configuration.blockSize))
        return (kept, start.count - kept.count)
    }

    /// Generates every choice of `request` (each prompt times `n`), one after another in one slot, sending events to
    /// `events`; stops early when `cancelled` is set. Returns when generation has ended.
    func run(_ request: CompletionRequest, prompts: [[Int]], ticket: UUID = UUID(), cancelled: CancellationFlag,
             events: @escaping @Sendable (CompletionEvent) -> Void) async throws {
        guard try await slots.acquire(ticket), !cancelled.isSet else {
            await slots.release()  // a client that left while queued: its place (or its fresh slot) goes on
            return
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            runOnGenerationThread { [self] in
                let generator = TextGenerator(model: model, tokenizer: tokenizer, roundedWeights: roundedWeights)
                var index = 0
                for prompt in prompts {
                    for sample in 0..<request.options.samples {
                        var options = request.options
                        options.precision = precision
                        options.samples = 1
                        let reason = (try? generator.generate(prompt: prompt, options: options, sample: sample) { piece in
                            if cancelled.isSet { return false }
                            events(.piece(index: index, text: piece.text, tokens: piece.tokens))
                            return true
                        }) ?? .stop
                        events(.finished(index: index, reason: reason))
                        index += 1
                        if cancelled.isSet { break }
                    }
                }
                done.resume()
            }
        }
        await slots.release()
    }
}
