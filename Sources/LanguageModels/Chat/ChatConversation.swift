import Foundation

extension ChatMessage {
    /// A conversation file: a JSON list of messages, or an object with a `messages` list (OpenAI's request and
    /// fine-tuning shape). See ``messages(fromJSONObject:)`` for what a message may hold.
    public static func conversation(json data: Data) throws -> [ChatMessage] {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ChatError.invalidMessages("the conversation is not valid JSON")
        }
        if let fields = object as? [String: Any] {
            guard let list = fields["messages"] else {
                throw ChatError.invalidMessages("the conversation object has no \"messages\" list")
            }
            return try Self.messages(fromJSONObject: list)
        }
        return try messages(fromJSONObject: object)
    }

    /// Messages from a JSON list as `JSONSerialization` reads it, in OpenAI's chat shape: each an object with a
    /// `role` (one of ``ChatError/roles``; `developer` is read as `system`) and a `content` that is a string, a list
    /// of `{"type": "text", "text": ...}` parts (joined), or null (an assistant's turn that only called tools).
    /// Other fields (`name`, `tool_calls`, ...) are ignored. Throws ``ChatError`` naming the message (from 0).
    public static func messages(fromJSONObject object: Any) throws -> [ChatMessage] {
        guard let list = object as? [Any] else { throw ChatError.invalidMessages("messages must be a list of messages") }
        guard !list.isEmpty else { throw ChatError.emptyConversation }
        return try list.enumerated().map { index, item in
            func fail(_ reason: String) -> ChatError { .invalidMessages("messages[\(index)]: \(reason)") }
            guard let fields = item as? [String: Any] else { throw fail("must be an object with a role and a content") }
            guard let role = fields["role"] as? String else { throw fail("role must be a string") }
            guard ChatError.roles.contains(role) else { throw ChatError.unknownRole(role) }
            let content: String
            switch fields["content"] {
            case let text as String: content = text
            case nil, is NSNull:
                guard role == "assistant" else { throw fail("content must be a string") }
                content = ""
            case let parts as [Any]:
                content = try parts.map { part in
                    guard let part = part as? [String: Any], part["type"] as? String == "text",
                          let text = part["text"] as? String else {
                        throw fail("content parts must be {\"type\": \"text\", \"text\": ...}: this model reads text only")
                    }
                    return text
                }.joined()
            default: throw fail("content must be a string or a list of text parts")
            }
            return ChatMessage(role: role == "developer" ? "system" : role, content: content)
        }
    }
}

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
