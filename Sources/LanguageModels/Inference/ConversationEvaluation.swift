import Foundation
import TensorModule

/// How a model does on held-out conversations: its loss on the assistant's tokens, and how often its greedy answer
/// to each conversation's last assistant turn is exactly the expected text.
public struct ConversationEvaluationResult: Sendable, Equatable {
    /// One conversation's last prompt, the answer expected and the answer given.
    public struct Answer: Sendable, Equatable {
        public var prompt: String
        public var expected: String
        public var given: String
        public var isExact: Bool { given == expected }
    }

    /// Mean cross-entropy per assistant token, in nats (each conversation cut at the block size).
    public var assistantLoss: Double
    /// Assistant tokens scored.
    public var assistantTokens: Int
    /// Every conversation's answer, in order.
    public var answers: [Answer]

    public var exactMatches: Int { answers.filter(\.isExact).count }
    /// Exact matches over conversations, 0...1.
    public var exactMatchRate: Double { answers.isEmpty ? 0 : Double(exactMatches) / Double(answers.count) }
}

/// Evaluates `model` on `conversations` rendered by `template`: the assistant-token loss, then for each
/// conversation a greedy answer (temperature 0) to the messages before its last assistant message, generated from
/// the template's generation prompt until the template's end of turn (or `maxNewTokens`, default twice the
/// expected answer's tokens plus 8), compared with that message's content exactly.
///
/// ```swift
/// let result = try evaluateConversations(model, tokenizer: tokenizer, template: .chatML, conversations: test)
/// print(result.exactMatchRate)
/// ```
public func evaluateConversations(_ model: any LanguageModel, tokenizer: Tokenizer, template: ChatTemplate,
                                  conversations: [Conversation], maxNewTokens: Int? = nil) throws
    -> ConversationEvaluationResult {
    let blockSize = model.configuration.blockSize
    var total = 0.0, scored = 0
    var answers: [ConversationEvaluationResult.Answer] = []
    let generator = TextGenerator(model: model, tokenizer: tokenizer)
    for conversation in conversations {
        let encoded = try EncodedConversation(conversation, template: template, tokenizer: tokenizer)
        let length = min(blockSize, encoded.tokens.count - 1)
        let row = encoded.row(blockSize: length)
        let counted = row.y.filter { $0 >= 0 }.count
        if counted > 0 {
            let loss = withoutGradient { model.forward(row.x, batchSize: 1, targets: row.y).loss!.item }
            total += Double(loss) * Double(counted)
            scored += counted
        }
        guard let last = conversation.messages.lastIndex(where: { $0.role == "assistant" }) else { continue }
        let expected = conversation.messages[last].content
        let prompt = try template.render(messages: Array(conversation.messages[..<last]), addGenerationPrompt: true)
        var options = SamplingOptions()
        options.temperature = 0
        let expectedTokens = try tokenizer.encode(expected).count
        options.maxNewTokens = maxNewTokens ?? 2 * expectedTokens + 8
        let end = try endOfTurn(template, for: Array(conversation.messages[...last]))
        options.stop = end.map { [$0] } ?? []
        var given = ""
        try generator.generate(prompt: try generator.promptTokens(prompt), options: options) { piece in
            given += piece.text
            return true
        }
        answers.append(.init(prompt: prompt, expected: expected, given: given))
    }
    return ConversationEvaluationResult(assistantLoss: scored == 0 ? .nan : total / Double(scored),
                                        assistantTokens: scored, answers: answers)
}

/// The text the template writes after an assistant's content inside its turn (`<|im_end|>` for ChatML), found in
/// the last assistant turn of `messages`; nil when the turn holds nothing after the content.
func endOfTurn(_ template: ChatTemplate, for messages: [ChatMessage]) throws -> String? {
    let (text, spans) = try template.assistantSpans(messages)
    guard let span = spans.last, let content = messages.last?.content else { return nil }
    let turn = String(decoding: Array(text.utf8)[span], as: UTF8.self)
    guard turn.hasPrefix(content) else { return nil }
    let end = turn.dropFirst(content.count).trimmingCharacters(in: .whitespacesAndNewlines)
    return end.isEmpty ? nil : end
}
