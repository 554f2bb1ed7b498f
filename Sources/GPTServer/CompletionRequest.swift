import Foundation
import LanguageModels

/// A `POST /v1/completions` body, validated field by field; every problem is an ``APIError`` naming the field.
public struct CompletionRequest: Sendable {
    public var model: String?
    public var prompts: [String]
    public var options = SamplingOptions()
    public var stream = false
    public var logprobs: Int?

    /// The most tokens one request may generate, over all its prompts and samples.
    public static let tokenBudget = 16_384

    /// Parses and validates a request body.
    public init(json body: Data) throws {
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
        switch fields["model"] {
        case nil, .null?: model = nil
        case .string(let name)?: model = name
        default: throw APIError.invalid("model", "model must be a string")
        }
        switch fields["prompt"] {
        case nil, .null?: prompts = [""]
        case .string(let text)?: prompts = [text]
        case .array(let items)? where !items.isEmpty && items.count <= 16:
            prompts = try items.map {
                guard case .string(let text) = $0 else { throw APIError.invalid("prompt", "prompt must be a string or a list of strings") }
                return text
            }
        default: throw APIError.invalid("prompt", "prompt must be a string or a list of 1 to 16 strings")
        }
        options.maxNewTokens = Int(try number("max_tokens", range: 1...4096, integer: true) ?? 16)
        options.temperature = Float(try number("temperature", range: 0...2) ?? 1)
        options.topP = Float(try number("top_p", range: 0.000_001...1) ?? 1)
        options.topK = try number("top_k", range: 1...1_000_000, integer: true).map { Int($0) }
        options.samples = Int(try number("n", range: 1...16, integer: true) ?? 1)
        // Without a seed, a fresh one per request (OpenAI's semantics); the response reports it, so it can be repeated.
        options.seed = UInt64(try number("seed", range: 0...9_007_199_254_740_991, integer: true)
            ?? Double(UInt64.random(in: 0...9_007_199_254_740_991)))
        let penalty = try number("repetition_penalty", range: 0.01...100)
        options.repetitionPenalty = Float(penalty ?? 1)
        // One request may not ask for more than a budget of tokens: prompts x n x max_tokens.
        if prompts.count * options.samples * options.maxNewTokens > Self.tokenBudget {
            throw APIError.invalid("max_tokens", "prompts (\(prompts.count)) x n (\(options.samples)) x max_tokens "
                + "(\(options.maxNewTokens)) is \(prompts.count * options.samples * options.maxNewTokens) tokens; "
                + "one request may generate at most \(Self.tokenBudget)")
        }
        logprobs = try number("logprobs", range: 0...20, integer: true).map { Int($0) }
        options.logprobs = logprobs ?? 0
        switch fields["stream"] {
        case nil, .null?: stream = false
        case .bool(let value)?: stream = value
        default: throw APIError.invalid("stream", "stream must be true or false")
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
