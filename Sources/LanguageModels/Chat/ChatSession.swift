import Foundation

/// A conversation with a model: the history of messages, an optional system message, and replies generated with
/// the checkpoint's ``ChatFormat``, streamed piece by piece and ended at the template's end of turn.
///
/// A context that fills up: before each reply the prompt must leave room for ``replyReserve(for:)`` tokens of
/// answer in the model's block size. When it does not, the oldest turns (everything before the next `user`
/// message, never the system message nor the last user message) leave the history, and ``ChatReply/droppedMessages``
/// counts them; when even the last message alone does not fit, ``ChatError/contextFull(promptTokens:blockSize:)``
/// is thrown and the history is left as it was. The answer itself ends at the block size (`.length`), never
/// sliding the window past the start of the conversation.
///
/// ```swift
/// let session = try ChatSession(checkpoint: URL(fileURLWithPath: "runs/chat"), system: "Be brief.")
/// let reply = try session.send("Who are you?", options: options) { piece in print(piece.text, terminator: ""); return true }
/// print(reply.finishReason)
/// ```
/// One reply runs at a time (a session is not shared across threads).
public final class ChatSession {
    public let generator: TextGenerator
    public let format: ChatFormat
    /// The system message put before the history (none when nil or empty).
    public var system: String?
    /// The conversation so far, without the system message.
    public private(set) var history: [ChatMessage] = []

    public init(generator: TextGenerator, format: ChatFormat, system: String? = nil) {
        (self.generator, self.format, self.system) = (generator, format, system)
    }

    /// A session over a checkpoint folder; throws ``ChatError/noTemplate(folder:)`` when it has no chat template.
    public convenience init(checkpoint folder: URL, system: String? = nil) throws {
        let (checkpoint, format) = try ChatFormat.load(from: folder)
        self.init(generator: TextGenerator(model: checkpoint.model, tokenizer: checkpoint.tokenizer), format: format,
                  system: system)
    }

    /// Forgets the history (the system message stays).
    public func reset() { history.removeAll() }

    /// Adds messages to the history without answering them (e.g. a conversation read from a file).
    public func append(_ messages: [ChatMessage]) { history += messages }

    /// The messages a prompt renders: the system message, then the history.
    public var messages: [ChatMessage] {
        guard let system, !system.isEmpty else { return history }
        return [ChatMessage(role: "system", content: system)] + history
    }

    /// The tokens a prompt keeps free for the answer: `maxNewTokens`, at most a quarter of the block size (at least 1).
    public func replyReserve(for options: SamplingOptions) -> Int {
        max(1, min(options.maxNewTokens, generator.model.configuration.blockSize / 4))
    }

    /// Adds `text` as a user message and answers it (``reply(options:onPiece:)``); when the answer cannot start
    /// (an error), the message is taken back out.
    @discardableResult
    public func send(_ text: String, options: SamplingOptions, onPiece: (GeneratedPiece) -> Bool = { _ in true })
        throws -> ChatReply
    {
        history.append(ChatMessage(role: "user", content: text))
        do {
            return try reply(options: options, onPiece: onPiece)
        } catch {
            history.removeLast()
            throw error
        }
    }

    /// Answers the history as it is (its last message is usually the user's): drops the oldest turns if the
    /// context is full, generates until the end of a turn, `options.maxNewTokens` or the block size, calls
    /// `onPiece` with each piece of text (return `false` to stop), and adds the answer to the history.
    @discardableResult
    public func reply(options: SamplingOptions, onPiece: (GeneratedPiece) -> Bool = { _ in true }) throws -> ChatReply {
        try options.validate()
        let blockSize = generator.model.configuration.blockSize
        let reserve = replyReserve(for: options)
        var dropped = 0
        var prompt = try format.prompt(messages)
        while prompt.tokens.count + reserve > blockSize {
            guard let cut = oldestTurnEnd(after: dropped) else {
                throw ChatError.contextFull(promptTokens: prompt.tokens.count, blockSize: blockSize)
            }
            dropped = cut
            prompt = try format.prompt(promptMessages(droppingFirst: dropped))
        }
        history.removeFirst(dropped)
        var chatOptions = format.options(options)
        let room = blockSize - prompt.tokens.count
        chatOptions.maxNewTokens = min(options.maxNewTokens, room)
        var text = "", tokens = 0
        let reason = try generator.generate(prompt: prompt.tokens, options: chatOptions) { piece in
            text += piece.text
            tokens += piece.tokens.count
            return onPiece(piece)
        }
        history.append(ChatMessage(role: "assistant", content: text))
        return ChatReply(text: text, finishReason: reason, promptTokens: prompt.tokens.count, completionTokens: tokens,
                         droppedMessages: dropped, contextFull: reason == .length && room < options.maxNewTokens)
    }

    /// The messages of a prompt without the first `count` of the history.
    private func promptMessages(droppingFirst count: Int) -> [ChatMessage] {
        let kept = Array(history.dropFirst(count))
        guard let system, !system.isEmpty else { return kept }
        return [ChatMessage(role: "system", content: system)] + kept
    }

    /// The number of history messages to drop to lose one more turn after the first `dropped`: up to the next user
    /// message, keeping the last user message; nil when nothing more can go.
    private func oldestTurnEnd(after dropped: Int) -> Int? {
        guard let lastUser = history.lastIndex(where: { $0.role == "user" }) ?? (history.isEmpty ? nil : history.count - 1),
              dropped < lastUser else { return nil }
        let next = history[(dropped + 1)...].firstIndex { $0.role == "user" } ?? lastUser
        return min(next, lastUser)
    }
}

/// One answer of a ``ChatSession``.
public struct ChatReply: Sendable, Equatable {
    /// The assistant's text, without the end-of-turn token.
    public var text: String
    /// `.stop` at the end of a turn (or a stop sequence), `.length` at `maxNewTokens` or the block size.
    public var finishReason: FinishReason
    public var promptTokens: Int, completionTokens: Int
    /// The oldest messages that left the history so that the prompt fit the context.
    public var droppedMessages: Int
    /// Whether the answer was cut because the model's context (its block size) was full.
    public var contextFull: Bool
}
