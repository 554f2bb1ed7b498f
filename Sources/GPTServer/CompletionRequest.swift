import Foundation
import LanguageModels

/// A `POST /v1/completions` or `POST /v1/chat/completions` body, validated field by field; every problem is an
/// ``APIError`` naming the field. The two routes share every sampling field; a chat request has `messages`
/// instead of `prompt`, `max_completion_tokens` beside `max_tokens`, and `logprobs` as a flag with `top_logprobs`.
/// A completion's prompt is a string, a list of strings, a list of token ids or a list of such lists (as
/// lm-evaluation-harness sends); `echo` answers the prompt's tokens and their log-probabilities before the generated
/// ones, and with it `max_tokens` may be 0 (score the prompt, generate nothing).
public struct CompletionRequest: Sendable {
    /// One prompt: text to tokenize, or token ids as they are.
    public enum Prompt: Sendable, Equatable {
        case text(String)
        case tokens([Int])
    }

    public var model: String?
    public var prompts: [Prompt]
    /// A chat request's conversation (nil for a text completion).
    public var messages: [ChatMessage]?
    public var options = SamplingOptions()
    public var stream = false
    /// Whether to answer with log-probabilities and, when so, how many alternatives each token reports.
    public var logprobs: Int?
    /// A streamed chat's `stream_options.include_usage`: a last chunk with the usage and no choices.
    public var includeUsage = false
    /// Whether a completion's answer begins with its prompt: the text, and with `logprobs` every prompt token
    /// (the first with a `null` log-probability).
    public var echo = false

    /// The most tokens one request may generate, over all its prompts and samples.
    public static let tokenBudget = 16_384

    /// Parses and validates a `/v1/completions` body.
    public init(json body: Data) throws { try self.init(json: body, chat: false) }

    /// Parses and validates a `/v1/chat/completions` body (`chat`) or a `/v1/completions` one.
    public init(json body: Data, chat: Bool) throws {
        let root: JSONValue
        do { root = try JSONDecoder().decode(JSONValue.self, from: body) } catch {
            throw APIError.invalid(nil, "the body is not valid JSON")
        }
        guard case .object(let fields) = root else { throw APIError.invalid(nil, "the body must be a JSON object") }

        func number(_ name: String, range: ClosedRange<Double>, integer: Bool = false) throws -> Double? {
            guard let value = fields[name], value != .null else { return nil }
            guard case .number(let x) = value, x.isFinite, range.contains(x), !integer || x == x.rounded() else {
                throw APIError.invalid(name, "\(name) must be \(integer ? "an integer" : "a number") in \(range.lowerBound)...\(range.upperBound)")
            }
            return x
        }
        func flag(_ name: String) throws -> Bool {
            switch fields[name] {
            case nil, .null?: return false
            case .bool(let value)?: return value
            default: throw APIError.invalid(name, "\(name) must be true or false")
            }
        }
        switch fields["model"] {
        case nil, .null?: model = nil
        case .string(let name)?: model = name
        default: throw APIError.invalid("model", "model must be a string")
        }
        if chat {
            prompts = [.text("")]
            guard let list = fields["messages"], list != .null else {
                throw APIError.invalid("messages", "messages is required: a list of {\"role\", \"content\"} objects")
            }
            do { messages = try ChatMessage.messages(fromJSONObject: list.foundationObject) } catch let error as ChatError {
                throw APIError.invalid("messages", error.description)
            }
        } else {
            prompts = try Self.prompts(fields["prompt"])
            echo = try flag("echo")
        }
        options.samples = Int(try number("n", range: 1...16, integer: true) ?? 1)
        // A chat answers until the end of its turn unless told otherwise: up to its share of the budget (and the
        // room left in the model's context, which the server applies).
        let maxTokens = try number("max_tokens", range: (chat ? 1 : 0)...4096, integer: true)
        if maxTokens == 0 && !echo {
            throw APIError.invalid("max_tokens", "max_tokens 0 needs echo: true (it scores the prompt and generates nothing)")
        }
        let maxCompletionTokens = chat ? try number("max_completion_tokens", range: 1...4096, integer: true) : nil
        options.maxNewTokens = Int(maxCompletionTokens ?? maxTokens
            ?? (chat ? Double(min(4096, Self.tokenBudget / (prompts.count * options.samples))) : 16))
        options.temperature = Float(try number("temperature", range: 0...2) ?? 1)
        options.topP = Float(try number("top_p", range: 0.000_001...1) ?? 1)
        options.topK = try number("top_k", range: 1...1_000_000, integer: true).map { Int($0) }
        // Without a seed, a fresh one per request (OpenAI's semantics); the response reports it, so it can be repeated.
        options.seed = UInt64(try number("seed", range: 0...9_007_199_254_740_991, integer: true)
            ?? Double(UInt64.random(in: 0...9_007_199_254_740_991)))
        let penalty = try number("repetition_penalty", range: 0.01...100)
        options.repetitionPenalty = Float(penalty ?? 1)
        // One request may not ask for more than a budget of tokens: prompts x n x max_tokens.
        let tokensField = maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens"
        if prompts.count * options.samples * options.maxNewTokens > Self.tokenBudget {
            throw APIError.invalid(tokensField, "prompts (\(prompts.count)) x n (\(options.samples)) x \(tokensField) "
                + "(\(options.maxNewTokens)) is \(prompts.count * options.samples * options.maxNewTokens) tokens; "
                + "one request may generate at most \(Self.tokenBudget)")
        }
        if chat {
            let top = try number("top_logprobs", range: 0...20, integer: true).map { Int($0) }
            if try flag("logprobs") { logprobs = top ?? 0 } else if top != nil {
                throw APIError.invalid("top_logprobs", "top_logprobs needs logprobs: true")
            }
        } else {
            logprobs = try number("logprobs", range: 0...20, integer: true).map { Int($0) }
        }
        options.logprobs = logprobs ?? 0
        stream = try flag("stream")
        if echo && stream {
            throw APIError.invalid("echo", "echo cannot be streamed: send stream: false (the prompt is scored in one answer)")
        }
        if chat, case .object(let streamOptions)? = fields["stream_options"], streamOptions["include_usage"] == .bool(true) {
            includeUsage = true
        }
        switch fields["stop"] {
        case nil, .null?: options.stop = []
        case .string(let text)? where !text.isEmpty: options.stop = [text]
        case .array(let items)? where items.count <= 4:
            options.stop = try items.map {
                guard case .string(let text) = $0, !text.isEmpty else {
                    throw APIError.invalid("stop", "stop must be a non-empty string or a list of up to 4")
                }
                return text
            }
        default: throw APIError.invalid("stop", "stop must be a non-empty string or a list of up to 4")
        }
    }
}

extension CompletionRequest {
    /// The prompts of a completion's `prompt` field: a string, or a list of 1 to 16 strings, or a list of token ids
    /// (one prompt), or a list of 1 to 16 lists of token ids (each not empty). Whether the ids are in the vocabulary
    /// is checked once the model is known (``CompletionService``).
    static func prompts(_ field: JSONValue?) throws -> [Prompt] {
        let shapes = "prompt must be a string, a list of 1 to 16 strings, a list of token ids or a list of 1 to 16 such lists"
        func ids(_ items: [JSONValue]) throws -> [Int] {
            guard !items.isEmpty else { throw APIError.invalid("prompt", "a prompt of token ids must not be empty") }
            return try items.map {
                guard case .number(let x) = $0, x == x.rounded(), x >= 0, x < 1e9 else {
                    throw APIError.invalid("prompt", "token ids must be integers of 0 or more")
                }
                return Int(x)
            }
        }
        switch field {
        case nil, .null?: return [.text("")]
        case .string(let text)?: return [.text(text)]
        case .array(let items)? where items.first.map(\.isNumber) == true: return [.tokens(try ids(items))]
        case .array(let items)? where !items.isEmpty && items.count <= 16:
            return try items.map {
                switch $0 {
                case .string(let text): return .text(text)
                case .array(let list): return .tokens(try ids(list))
                default: throw APIError.invalid("prompt", shapes)
                }
            }
        default: throw APIError.invalid("prompt", shapes)
        }
    }
}

private extension JSONValue {
    var isNumber: Bool {
        if case .number = self { return true }
        return false
    }
}
