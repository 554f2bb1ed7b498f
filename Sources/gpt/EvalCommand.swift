import ArgumentParser
import Foundation
import LanguageModels

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Mean loss and perplexity of a saved model on a text file, or on its training corpus's validation split; on a .jsonl of conversations, the assistant-token loss and the exact-match rate of greedy answers.")

    @OptionGroup var model: CheckpointOptions
    @Option(help: "A UTF-8 text file, a folder of .txt files, a prepared folder, or a .jsonl of conversations (default: the validation split of the corpus the model was trained on).")
    var data: String?
    @Option(parsing: .unconditional, help: "Windows scored at once.") var batchSize = 32
    @Option(help: "Matrix products in fp32 (exact), bf16 (bfloat16 inputs, fp32 sums, where the CPU has a bfloat16 kernel) or q8 (8-bit weights in Q8_0 blocks: about half the bytes of bf16; activations quantised per block).")
    var precision = MatrixPrecision.float32
    @Flag(help: "Leave out text outside the model's vocabulary (counted and named) instead of refusing it.") var skipUnknown = false
    @Option(parsing: .unconditional, help: "With conversations: show this many of the answers.") var showAnswers = 5

    func run() throws {
        try reportingErrors {
            let directory = model.url
            if let data, ConversationFile.isConversationFile(data) {
                var loaded = try Checkpoint.load(from: directory)
                let template = try loaded.preparingForChat(template: try ChatTemplate(checkpoint: directory))
                let conversations = try ConversationFile.read(data)
                let result = try evaluateConversations(loaded.model, tokenizer: loaded.tokenizer, template: template,
                                                       conversations: conversations)
                for answer in result.answers.prefix(max(0, showAnswers)) {
                    print("\(answer.isExact ? "ok  " : "miss") \(answer.prompt.debugDescription) -> \(answer.given.debugDescription) (expected \(answer.expected.debugDescription))")
                }
                print("\(data): " + String(format: "%d conversations, assistant-token loss %.4f nats over %d tokens, exact match %d/%d (%.1f%%)",
                             conversations.count, result.assistantLoss, result.assistantTokens,
                             result.exactMatches, result.answers.count, 100 * result.exactMatchRate))
                return
            }
            let loaded = try Checkpoint.load(from: directory)
            let text = try EvaluationText(data, checkpoint: directory, tokenizer: loaded.tokenizer, skippingUnknown: skipUnknown)
            if let skipped = text.skipped { print("left out, outside the model's vocabulary: \(skipped)") }
            let result = evaluate(loaded.model, tokens: text.tokens, characters: text.characters, batchSize: batchSize,
                                  precision: precision)
            print("\(text.description): \(result.tokens) tokens")
            print(String(format: "loss %.6f nats/token, perplexity %.3f, %.4f nats/character (%.4f bits/character)",
                         result.meanLoss, result.perplexity, result.lossPerCharacter, result.lossPerCharacter / log(2)))
        }
    }
}
