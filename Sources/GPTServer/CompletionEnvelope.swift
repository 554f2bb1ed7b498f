import Foundation
import LanguageModels
import Hummingbird
import NIOCore

/// The JSON of one route's answers: whole responses and streamed chunks.
protocol ResponseShape: Sendable {
    /// The streamed chunks for one event, in order (JSON texts, without `data: `).
    mutating func chunks(_ event: CompletionEvent) -> [String]
    /// Chunks after the last event, before `[DONE]`.
    func closing(promptTokens: Int, completionTokens: Int) -> [String]
    /// The whole answer of a request that was not streamed.
    func completion(_ choices: [(text: String, tokens: [TokenChoice], reason: FinishReason)], promptTokens: Int) -> [String: Any]
}

extension GPTServer {
    /// Runs a completion; when the client's `connection` closes, the generation stops at its next token, or, if it
    /// is still waiting for a slot, gives up its place in the queue. With `echo` and `logprobs`, the prompts are
    /// scored first (``CompletionService/score(_:alternatives:)``), whole, however long.
    func complete(_ request: CompletionRequest, connection: any Channel) async throws -> Response {
        let service = self.service, blockSize = service.model.configuration.blockSize
        return try await serve(request, connection: connection) { admission, request in
            let cropped = admission.prompts.map(\.cropped).max() ?? 0
            var warning: String?
            if cropped > 0 && request.options.maxNewTokens > 0 {
                warning = "the prompt was cropped to its last \(blockSize) tokens (the block size) to generate: \(cropped) dropped"
                    + (request.echo ? "; its echo is scored whole, in windows of \(blockSize) tokens" : "")
            }
            var prompts = zip(request.prompts, admission.whole).map { prompt, tokens in
                switch prompt {
                case .text(let text): PromptEcho(text: text, tokens: tokens)
                case .tokens: PromptEcho(text: service.tokenizer.decode(tokens), tokens: tokens)
                }
            }
            if request.echo {
                var scores: [[TokenChoice?]]?
                if let alternatives = request.logprobs { scores = try await service.score(admission.whole, alternatives: alternatives) }
                for i in prompts.indices { prompts[i].scores = scores?[i] ?? Array(repeating: nil, count: prompts[i].tokens.count) }
            }
            return CompletionEnvelope(id: "cmpl-\(UUID().uuidString.lowercased())", created: Int(Date().timeIntervalSince1970),
                                      model: service.modelName, seed: request.options.seed, logprobs: request.logprobs != nil,
                                      tokenizer: service.tokenizer, warning: warning, prompts: prompts,
                                      samples: request.options.samples, echo: request.echo)
        }
    }
}

/// A completion's prompt as its answer tells of it: the text (where its `text_offset`s start) and, when the request
/// asked for `echo`, its tokens and their scores (the first `nil`; all `nil` without `logprobs`).
struct PromptEcho: Sendable {
    let text: String
    var tokens: [Int] = []
    var scores: [TokenChoice?] = []
}

/// The OpenAI completion JSON around generated text: whole responses and streamed chunks. With `logprobs`, each
/// choice's `logprobs` holds `tokens` (each token's text), `token_logprobs`, `top_logprobs` (a dictionary of text to
/// log-probability per token) and `text_offset` (where each token's text starts, in Unicode scalars of the prompt
/// and completion, as vLLM counts them); with `echo`, the prompt's text and tokens come first (the first token's
/// log-probability and alternatives `null`).
struct CompletionEnvelope: ResponseShape {
    let id: String, created: Int, model: String
    /// The seed the request's sampling used (drawn at random when the request named none).
    let seed: UInt64
    let logprobs: Bool
    let tokenizer: Tokenizer
    /// Said in every answer (a cropped prompt).
    let warning: String?
    /// Each prompt, in order; choice `i` answers prompt `i / samples`.
    var prompts: [PromptEcho] = []
    var samples = 1
    var echo = false
    /// Where each streamed choice's next token starts.
    private var offsets: [Int: Int] = [:]

    init(id: String, created: Int, model: String, seed: UInt64, logprobs: Bool, tokenizer: Tokenizer, warning: String?,
         prompts: [PromptEcho] = [], samples: Int = 1, echo: Bool = false) {
        (self.id, self.created, self.model, self.seed, self.logprobs) = (id, created, model, seed, logprobs)
        (self.tokenizer, self.warning, self.prompts, self.samples, self.echo) = (tokenizer, warning, prompts, samples, echo)
    }

    mutating func chunks(_ event: CompletionEvent) -> [String] {
        var choice: [String: Any]
        switch event {
        case .piece(let index, let text, let tokens):
            let start = offsets[index] ?? prompt(index).text.unicodeScalars.count
            let object = logprobsObject(tokens, start: start)
            offsets[index] = object.end
            choice = ["index": index, "text": text, "logprobs": object.json, "finish_reason": NSNull()]
        case .finished(let index, let reason):
            choice = ["index": index, "text": "", "logprobs": NSNull(), "finish_reason": reason.rawValue]
        case .failed(let error):
            return [String(decoding: error.body, as: UTF8.self)]
        }
        return [JSONText.encodeOrEmpty(object(choices: [choice]))]
    }

    func closing(promptTokens: Int, completionTokens: Int) -> [String] { [] }

    func completion(_ choices: [(text: String, tokens: [TokenChoice], reason: FinishReason)], promptTokens: Int) -> [String: Any] {
        let completionTokens = choices.reduce(0) { $0 + $1.tokens.count }
        var answer = object(choices: choices.enumerated().map { index, choice in
            let prompt = prompt(index)
            let start = echo ? 0 : prompt.text.unicodeScalars.count
            return ["index": index, "text": echo ? prompt.text + choice.text : choice.text,
                    "logprobs": logprobsObject(choice.tokens, start: start, echoing: echo ? prompt : nil).json,
                    "finish_reason": choice.reason.rawValue] as [String: Any]
        })
        answer["usage"] = ["prompt_tokens": promptTokens, "completion_tokens": completionTokens,
                           "total_tokens": promptTokens + completionTokens]
        return answer
    }

    private func prompt(_ choice: Int) -> PromptEcho {
        let index = choice / max(1, samples)
        return prompts.indices.contains(index) ? prompts[index] : PromptEcho(text: "")
    }

    private func object(choices: [[String: Any]]) -> [String: Any] {
        var object: [String: Any] = ["id": id, "object": "text_completion", "created": created, "model": model,
                                     "seed": seed, "choices": choices]
        if let warning { object["warning"] = warning }
        return object
    }

    /// OpenAI's `logprobs` object for `echoing`'s tokens (when given), then `tokens`, whose texts start at offset
    /// `start`; `end`: where the text after them starts. `NSNull` without `logprobs`.
    func logprobsObject(_ tokens: [TokenChoice], start: Int, echoing: PromptEcho? = nil) -> (json: Any, end: Int) {
        guard logprobs else { return (NSNull(), start) }
        let scored = zip(echoing?.tokens ?? [], echoing?.scores ?? []).map { token, score in (token, score) }
            + tokens.map { ($0.token, Optional($0)) }
        let texts = scored.map { tokenizer.decode([$0.0]) }
        var offsets: [Int] = [], end = start
        for text in texts {
            offsets.append(end)
            end += text.unicodeScalars.count
        }
        let values: [Any] = scored.map { _, score -> Any in score.map { Double($0.logprob) } ?? NSNull() }
        let alternatives: [Any] = scored.map { _, score -> Any in
            guard let score else { return NSNull() }
            return Dictionary(score.alternatives.map { (tokenizer.decode([$0.token]), Double($0.logprob)) }, uniquingKeysWith: max)
        }
        return (["tokens": texts, "token_logprobs": values, "top_logprobs": alternatives, "text_offset": offsets] as [String: Any], end)
    }
}
