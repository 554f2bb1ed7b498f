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
