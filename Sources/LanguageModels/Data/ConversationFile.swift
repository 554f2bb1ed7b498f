import Foundation

/// A conversation to learn from: its messages in order (`system`, `user` and `assistant` turns).
public struct Conversation: Sendable, Equatable {
    public var messages: [ChatMessage]
    /// The line of the file it came from (1-based; 0 when it came from elsewhere), for messages.
    public var line: Int

    public init(messages: [ChatMessage], line: Int = 0) { (self.messages, self.line) = (messages, line) }

    /// The roles a conversation file may use (OpenAI's `developer` is a system message by another name).
    public static let roles: Set<String> = ["system", "developer", "user", "assistant"]
    /// The most messages one conversation may have.
    public static let maximumMessages = 10_000
}

/// Why a conversation file, or one of its lines, was refused.
public enum ConversationFileError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file itself: missing, unreadable, too large, or without any conversation.
    case unreadable(path: String, reason: String)
    /// Line `line` (1-based) is not a conversation; `problem` says what is wrong with it.
    case badLine(path: String, line: Int, problem: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read conversations from \(path): \(reason)"
        case .badLine(let path, let line, let problem):
            "\(path), line \(line): \(problem) (each line must be {\"messages\": [{\"role\": ..., \"content\": ...}, ...]})"
        }
    }
}

/// OpenAI's fine-tuning format, JSON Lines: one conversation a line, `{"messages": [{"role": "user", "content":
/// "..."}, {"role": "assistant", "content": "..."}]}`. Blank lines are skipped; members other than `messages`,
/// `role` and `content` (a `name`, a `weight`) are ignored.
///
/// ```swift
/// let conversations = try ConversationFile.read("chats.jsonl")
/// ```
public enum ConversationFile {
    /// Whether `path` names a conversation file (its extension is `.jsonl`).
    public static func isConversationFile(_ path: String) -> Bool {
        URL(fileURLWithPath: path).pathExtension.lowercased() == "jsonl"
    }

    /// Reads every conversation of the file at `path`; the first bad line is refused with its number.
    public static func read(_ path: String) throws -> [Conversation] {
        let text: String
        do {
            text = try readCorpus(at: path)  // exists, regular, UTF-8, bounded by the memory, not empty
        } catch let error as GPTError {
            throw ConversationFileError.unreadable(path: path, reason: "\(error)")
        }
        return try parse(text, source: path)
    }

    /// The conversations of JSON Lines text; `source` names it in errors.
    public static func parse(_ text: String, source: String) throws -> [Conversation] {
        var conversations: [Conversation] = []
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            do {
                conversations.append(Conversation(messages: try messages(line), line: number))
            } catch let problem as LineProblem {
                throw ConversationFileError.badLine(path: source, line: number, problem: problem.text)
            }
        }
        guard !conversations.isEmpty else {
            throw ConversationFileError.unreadable(path: source, reason: "it holds no conversation")
        }
        return conversations
    }

    private struct LineProblem: Error { let text: String }

    /// One line's messages, or what is wrong with it.
    private static func messages(_ line: Substring) throws -> [ChatMessage] {
        let json: OrderedJSON
        do {
            json = try OrderedJSON(parsing: Data(line.utf8))
        } catch {
            throw LineProblem(text: "not JSON (\(error))")
        }
        guard case .object(let members) = json else { throw LineProblem(text: "not a JSON object") }
        guard let messages = members.first(where: { $0.key == "messages" })?.value else {
            throw LineProblem(text: "no \"messages\"")
        }
        guard case .array(let entries) = messages else { throw LineProblem(text: "\"messages\" is not a list") }
        guard !entries.isEmpty else { throw LineProblem(text: "\"messages\" is empty") }
        guard entries.count <= Conversation.maximumMessages else {
            throw LineProblem(text: "\(entries.count) messages; at most \(Conversation.maximumMessages)")
        }
        var parsed: [ChatMessage] = []
        parsed.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            guard case .object(let fields) = entry else { throw LineProblem(text: "message \(index) is not an object") }
            guard case .string(let role)? = fields.first(where: { $0.key == "role" })?.value else {
                throw LineProblem(text: "message \(index) has no \"role\" string")
            }
            guard Conversation.roles.contains(role) else {
                throw LineProblem(text: "message \(index) has the unknown role \(String(role.prefix(40)).debugDescription); "
                    + "use system, user or assistant")
            }
            switch fields.first(where: { $0.key == "content" })?.value {
            case .string(let content)?: parsed.append(ChatMessage(role: role, content: content))
            case nil: throw LineProblem(text: "message \(index) has no \"content\"")
            default: throw LineProblem(text: "message \(index)'s \"content\" is not a string")
            }
        }
        guard parsed.contains(where: { $0.role == "assistant" }) else {
            throw LineProblem(text: "no assistant message, so nothing to learn")
        }
        return parsed
    }
}
