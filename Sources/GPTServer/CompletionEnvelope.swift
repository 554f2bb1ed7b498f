import Foundation
import LanguageModels

/// The JSON of one route's answers: whole responses and streamed chunks.
protocol ResponseShape: Sendable {
    /// The streamed chunks for one event, in order (JSON texts, without `data: `).
    mutating func chunks(_ event: CompletionEvent) -> [String]
    /// Chunks after the last event, before `[DONE]`.
    func closing(promptTokens: Int, completionTokens: Int) -> [String]
    /// The whole answer of a request that was not streamed.
    func completion(_ choices: [(text: String, tokens: [TokenChoice], reason: FinishReason)], promptTokens: Int) -> [String: Any]
}

/// The OpenAI completion JSON around generated text: whole responses and streamed chunks.
struct CompletionEnvelope: ResponseShape {
    let id: String, created: Int, model: String
    /// The seed the request's sampling used (drawn at random when the request named none).
    let seed: UInt64
    let logprobs: Bool
    let tokenizer: Tokenizer
    /// Said in every answer (a cropped prompt).
    let warning: String?

    func chunks(_ event: CompletionEvent) -> [String] { [chunk(event, warning: warning)] }

    func closing(promptTokens: Int, completionTokens: Int) -> [String] { [] }

    func completion(_ choices: [(text: String, tokens: [TokenChoice], reason: FinishReason)], promptTokens: Int) -> [String: Any] {
        completion(choices, promptTokens: promptTokens, warning: warning)
    }

    /// OpenAI's `logprobs` object for some tokens: tokens, their log-probabilities and the top alternatives.
    func logprobsObject(_ tokens: [TokenChoice]) -> Any {
        guard logprobs else { return NSNull() }
        let texts: [String] = tokens.map { tokenizer.decode([$0.token]) }
        let values: [Double] = tokens.map { Double($0.logprob) }
        let alternatives: [[String: Double]] = tokens.map { choice in
            Dictionary(choice.alternatives.map { (tokenizer.decode([$0.token]), Double($0.logprob)) }, uniquingKeysWith: max)
        }
        return ["tokens": texts, "token_logprobs": values, "top_logprobs": alternatives] as [String: Any]
    }

    func chunk(_ event: CompletionEvent, warning: String?) -> String {
        var choice: [String: Any]
        switch event {
        case .piece(let index, let text, let tokens):
            choice = ["index": index, "text": text, "logprobs": logprobsObject(tokens), "finish_reason": NSNull()]
        case .finished(let index, let reason):
            choice = ["index": index, "text": "", "logprobs": NSNull(), "finish_reason": reason.rawValue]
        case .failed(let error):
            return String(decoding: error.body, as: UTF8.self)
        }
        var object: [String: Any] = ["id": id, "object": "text_completion", "created": created, "model": model,
                                     "seed": seed, "choices": [choice]]
        if let warning { object["warning"] = warning }
        return JSONText.encodeOrEmpty(object)
    }

    func completion(_ choices: [(text: String, tokens: [TokenChoice], reason: FinishReason)], promptTokens: Int,
                    warning: String?) -> [String: Any] {
        let completionTokens = choices.reduce(0) { $0 + $1.tokens.count }
        var object: [String: Any] = [
            "id": id, "object": "text_completion", "created": created, "model": model, "seed": seed,
            "choices": choices.enumerated().map { index, choice in
                ["index": index, "text": choice.text, "logprobs": logprobsObject(choice.tokens),
                 "finish_reason": choice.reason.rawValue] as [String: Any]
            },
            "usage": ["prompt_tokens": promptTokens, "completion_tokens": completionTokens,
                      "total_tokens": promptTokens + completionTokens],
        ]
        if let warning { object["warning"] = warning }
        return object
    }
}
