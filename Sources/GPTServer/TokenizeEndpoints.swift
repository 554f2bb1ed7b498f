import Foundation
import LanguageModels

/// `POST /tokenize` and `POST /detokenize` in llama-server's shapes: `{"content": "text"}` -> `{"tokens": [ids]}`,
/// `{"tokens": [ids]}` -> `{"content": "text"}`, within the prompt limits (``PromptLimits``).
extension CompletionService {
    /// The tokens of a `/tokenize` body's `content`, tokenized on a generation thread.
    func tokenize(_ body: Data) async throws -> [Int] {
        guard case .string(let content)? = try Self.fields(of: body)["content"] else {
            throw APIError.invalid("content", "content must be a string")
        }
        guard content.utf8.count <= promptLimits.bytes else {
            throw Self.promptTooLong("the content is \(content.utf8.count) bytes; this server accepts at most \(promptLimits.bytes) (--max-prompt-bytes)")
        }
        return try await threads.run { [tokenizer] in
            do { return try tokenizer.encode(content) } catch let error as GPTError {
                throw APIError.invalid("content", error.description)
            }
        }
    }

    /// The text of a `/detokenize` body's `tokens`, each an id of the vocabulary.
    func detokenize(_ body: Data) throws -> String {
        guard case .array(let items)? = try Self.fields(of: body)["tokens"] else {
            throw APIError.invalid("tokens", "tokens must be an array of token ids")
        }
        guard items.count <= promptLimits.tokens else {
            throw Self.promptTooLong("\(items.count) tokens; this server accepts at most \(promptLimits.tokens) (--max-prompt-tokens)")
        }
        let size = tokenizer.vocabularySize
        let tokens = try items.map { item -> Int in
            guard case .number(let x) = item, x == x.rounded(), x >= 0, x < Double(size) else {
                throw APIError.invalid("tokens", "every token must be an integer id in 0..<\(size)")
            }
            return Int(x)
        }
        return tokenizer.decode(tokens)
    }

    /// A request body's fields; a 400 unless it is a JSON object.
    private static func fields(of body: Data) throws -> [String: JSONValue] {
        guard let root = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw APIError.invalid(nil, "the body is not valid JSON")
        }
        guard case .object(let fields) = root else { throw APIError.invalid(nil, "the body must be a JSON object") }
        return fields
    }
}
