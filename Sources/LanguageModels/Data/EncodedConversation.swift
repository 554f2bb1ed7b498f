import Foundation
import TensorModule

/// One conversation as a model reads it: the template's text as token ids, and for each token whether the loss
/// trains on it (the assistant's tokens, its end-of-turn token included; the rest is context only).
public struct EncodedConversation: Sendable, Equatable {
    public var tokens: [Int]
    /// `trained[i]`: token `i` is the assistant's.
    public var trained: [Bool]

    /// `conversation` rendered by `template` and tokenized by `tokenizer` (special tokens matched whole). The text
    /// is cut at the assistant's spans (``ChatTemplate/assistantSpans(_:)``) and each piece tokenized alone, as
    /// nanochat does, so a token never straddles the edge of a turn and the prompt's tokens are those a chat
    /// prompt ending in the generation prompt gets. Text outside the vocabulary is refused, or left out when
    /// `skippingUnknown`.
    public init(_ conversation: Conversation, template: ChatTemplate, tokenizer: Tokenizer,
                skippingUnknown: Bool = false) throws {
        let (text, spans) = try template.assistantSpans(conversation.messages)
        let bytes = Array(text.utf8)
        var tokens: [Int] = [], trained: [Bool] = []
        var start = 0
        func append(upTo end: Int, isAssistant: Bool) throws {
            guard end > start else { return }
            let piece = String(decoding: bytes[start..<end], as: UTF8.self)
            let ids = try tokenizer.encode(piece, skippingUnknown: skippingUnknown).tokens
            tokens += ids
            trained += Array(repeating: isAssistant, count: ids.count)
            start = end
        }
        for span in spans {
            try append(upTo: span.lowerBound, isAssistant: false)
            try append(upTo: span.upperBound, isAssistant: true)
        }
        try append(upTo: bytes.count, isAssistant: false)
        (self.tokens, self.trained) = (tokens, trained)
    }

    public init(tokens: [Int], trained: [Bool]) { (self.tokens, self.trained) = (tokens, trained) }

    /// One row of a batch, `blockSize` long: inputs `x` (the conversation's first `blockSize` tokens, then
    /// `padding`) and targets `y` (the next token where it is the assistant's, else ``Tensor/ignoredTarget``).
    /// A longer conversation is cut (``isCut(blockSize:)``). Padding comes after the conversation, so causal
    /// attention never lets the conversation see it, and no other conversation shares the row.
    public func row(blockSize: Int, padding: Int = 0) -> (x: [Int], y: [Int]) {
        var x = [Int](repeating: padding, count: blockSize), y = [Int](repeating: Tensor.ignoredTarget, count: blockSize)
        for t in 0..<min(blockSize, tokens.count) {
            x[t] = tokens[t]
            if t + 1 < tokens.count, trained[t + 1] { y[t] = tokens[t + 1] }
        }
        return (x, y)
    }

    /// Whether the conversation is longer than a row of `blockSize` inputs and their next tokens.
    public func isCut(blockSize: Int) -> Bool { tokens.count > blockSize + 1 }

    /// How many of the targets of a row of `blockSize` the loss counts.
    public func trainedTargets(blockSize: Int) -> Int { trained.dropFirst().prefix(blockSize).filter { $0 }.count }
}

extension ChatTemplate {
    /// The text of `messages` rendered without a generation prompt, and the UTF-8 byte ranges of the assistant's
    /// turns in it (each with its end-of-turn token).
    ///
    /// A template that marks them with `{% generation %}` says where they are. Otherwise the standard trick: the
    /// text of `messages[..<i]` with the generation prompt must be a prefix of the whole text, and where it ends
    /// assistant message `i` begins; it ends where the text of `messages[...i]` ends. A template for which a
    /// prefix is not a prefix is refused (it re-renders earlier turns, so the spans cannot be found this way).
    public func assistantSpans(_ messages: [ChatMessage]) throws -> (text: String, spans: [Range<Int>]) {
        let whole = try render(messages: messages.map(\.value))
        guard whole.generationRanges.isEmpty else { return (whole.text, whole.generationRanges) }
        let text = Array(whole.text.utf8)
        var spans: [Range<Int>] = []
        for (index, message) in messages.enumerated() where message.role == "assistant" {
            let before = Array(try render(messages: Array(messages[..<index]).map(\.value), addGenerationPrompt: true).text.utf8)
            let through = Array(try render(messages: Array(messages[...index]).map(\.value)).text.utf8)
            guard text.starts(with: before), text.starts(with: through), through.count >= before.count else {
                throw ChatTemplateError.invalidValue("the template does not render the messages before assistant message "
                    + "\(index) as a prefix of the whole conversation, so its turns cannot be found; "
                    + "mark them with {% generation %} ... {% endgeneration %}")
            }
            spans.append(before.count..<through.count)
        }
        return (whole.text, spans)
    }
}
