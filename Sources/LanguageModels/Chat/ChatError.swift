/// What can go wrong chatting with a model, beyond its template's own errors (``ChatTemplateError``); each
/// ``description`` says what to do.
public enum ChatError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The checkpoint in `folder` has no chat template, so it cannot be chatted with.
    case noTemplate(folder: String)
    /// Even the conversation's last turn (with the system message) leaves no room for an answer in the model's
    /// context: the prompt is `promptTokens` tokens and the context `blockSize`.
    case contextFull(promptTokens: Int, blockSize: Int)
    /// There is no message to answer.
    case emptyConversation
    /// A conversation that cannot be read: what is wrong and where.
    case invalidMessages(String)
    /// A message's role is not one a chat knows (`system`, `developer`, `user`, `assistant`, `tool`).
    case unknownRole(String)

    /// The roles a conversation may use.
    public static let roles = ["system", "developer", "user", "assistant", "tool"]

    public var description: String {
        func cut(_ text: String) -> String { text.count > 200 ? String(text.prefix(200)) + "…" : text }
        return switch self {
        case .noTemplate(let folder):
            "\(cut(folder)) has no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json): "
                + "fine-tune it on conversations (gpt train --init-from DIR --data chats.jsonl adds ChatML), or write "
                + "a Jinja chat template that its tokenizer can encode to \(cut(folder))/chat_template.jinja"
        case .contextFull(let promptTokens, let blockSize):
            "the last message is \(promptTokens) tokens with the chat template, and the model's context holds "
                + "\(blockSize) (its block size), leaving no room for an answer: send a shorter message"
        case .emptyConversation:
            "the conversation has no messages: give at least one user message"
        case .invalidMessages(let reason):
            "invalid conversation: \(cut(reason))"
        case .unknownRole(let role):
            "unknown role \(cut(role).debugDescription): use one of \(Self.roles.joined(separator: ", "))"
        }
    }
}
