import Foundation
import LanguageModels
import Hummingbird
import NIOCore

extension GPTServer {
    /// Runs a chat completion: renders `request.messages` with the model's chat template (with the generation
    /// prompt), then generates as a completion does, ending at the template's end of turn (`finish_reason` `stop`)
    /// or at `max_tokens` or the end of the model's context (`length`). A conversation the context cannot hold
    /// with room for one token is a 400 (`context_length_exceeded`), never cropped.
    func chat(_ request: CompletionRequest, connection: any Channel) async throws -> Response {
        let format: ChatFormat
        switch service.chat {
        case .success(let found): format = found
        case .failure(let error as ChatError):
            if case .noTemplate = error {
                throw APIError(status: 400, message: "the model \(service.modelName) has no chat template, so it cannot chat: "
                               + "use /v1/completions, or give its checkpoint a chat_template.jinja (docs/chat.md)",
                               type: "invalid_request_error", param: "model", code: "no_chat_template")
            }
            throw APIError(status: 400, message: error.description, type: "invalid_request_error", param: "model", code: nil)
        case .failure(let error):
            throw APIError(status: 400, message: "the model's chat template cannot be used: \(error)",
                           type: "invalid_request_error", param: "model", code: "invalid_chat_template")
        }
        var request = request
        do {
            request.prompts = [.text(try format.render(request.messages ?? []))]
        } catch let error as ChatError {
            throw APIError.invalid("messages", error.description)
        } catch let error as ChatTemplateError {
            throw APIError.invalid("messages", error.description)
        }
        request.options = format.options(request.options)
        let service = self.service, blockSize = service.model.configuration.blockSize
        return try await serve(request, connection: connection) { admission, request in
            let prompt = admission.prompts[0]
            let length = prompt.tokens.count + prompt.cropped
            guard length < blockSize else {
                throw APIError(status: 400, message: "the conversation is \(length) tokens with the chat template, and "
                               + "this model's context holds \(blockSize) with the answer: send fewer or shorter messages",
                               type: "invalid_request_error", param: "messages", code: "context_length_exceeded")
            }
            request.options.maxNewTokens = min(request.options.maxNewTokens, blockSize - length)
            return ChatEnvelope(id: "chatcmpl-\(UUID().uuidString.lowercased())", created: Int(Date().timeIntervalSince1970),
                                model: service.modelName, seed: request.options.seed, logprobs: request.logprobs,
                                includeUsage: request.includeUsage, tokenizer: service.tokenizer)
        }
    }
}

/// OpenAI's chat completion JSON: `chat.completion` answers with a `message` per choice, and streamed
/// `chat.completion.chunk`s whose `delta` gives each choice's role first, then its content, then an empty delta
/// with the `finish_reason`. Log-probabilities in the chat shape: `logprobs.content[]` of token, logprob, bytes
/// (the UTF-8 of the token's text) and `top_logprobs`.
struct ChatEnvelope: ResponseShape {
    let id: String, created: Int, model: String
    let seed: UInt64
    /// nil: no log-probabilities; else how many alternatives per token.
    let logprobs: Int?
    let includeUsage: Bool
    let tokenizer: Tokenizer
    /// The choices whose role chunk was sent.
    private var opened: Set<Int> = []

    init(id: String, created: Int, model: String, seed: UInt64, logprobs: Int?, includeUsage: Bool, tokenizer: Tokenizer) {
        (self.id, self.created, self.model, self.seed) = (id, created, model, seed)
        (self.logprobs, self.includeUsage, self.tokenizer) = (logprobs, includeUsage, tokenizer)
    }

    func logprobsObject(_ tokens: [TokenChoice]) -> Any {
        guard let logprobs else { return NSNull() }
        func entry(_ token: Int, _ logprob: Float) -> [String: Any] {
            let text = tokenizer.decode([token])
            return ["token": text, "logprob": Double(logprob), "bytes": Array(text.utf8).map(Int.init)]
        }
        return ["content": tokens.map { choice in
            var item = entry(choice.token, choice.logprob)
            item["top_logprobs"] = choice.alternatives.prefix(logprobs).map { entry($0.token, $0.logprob) }
            return item
        }]
    }

    private func object(_ kind: String, choices: [[String: Any]]) -> [String: Any] {
        ["id": id, "object": kind, "created": created, "model": model, "seed": seed, "system_fingerprint": "swift-gpt",
         "choices": choices]
    }

    private func encoded(_ object: [String: Any]) -> String {
        JSONText.encodeOrEmpty(object)
    }

    mutating func chunks(_ event: CompletionEvent) -> [String] {
        func chunk(_ index: Int, _ delta: [String: Any], logprobs: Any = NSNull(), finish: Any = NSNull()) -> String {
            encoded(object("chat.completion.chunk",
                           choices: [["index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish]]))
        }
        var out: [String] = []
        switch event {
        case .piece(let index, _, _), .finished(let index, _):
            if opened.insert(index).inserted { out.append(chunk(index, ["role": "assistant", "content": ""])) }
        case .failed: break
        }
        switch event {
        case .piece(let index, let text, let tokens):
            out.append(chunk(index, ["content": text], logprobs: logprobsObject(tokens)))
        case .finished(let index, let reason):
            out.append(chunk(index, [:], finish: reason.rawValue))
        case .failed(let error):
            out.append(String(decoding: error.body, as: UTF8.self))
        }
        return out
    }

    func closing(promptTokens: Int, completionTokens: Int) -> [String] {
        guard includeUsage else { return [] }
        var last = object("chat.completion.chunk", choices: [])
        last["usage"] = usage(promptTokens, completionTokens)
        return [encoded(last)]
    }

    private func usage(_ prompt: Int, _ completion: Int) -> [String: Int] {
        ["prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion]
    }

    func completion(_ choices: [(text: String, tokens: [TokenChoice], reason: FinishReason)], promptTokens: Int) -> [String: Any] {
        var answer = object("chat.completion", choices: choices.enumerated().map { index, choice in
            ["index": index, "message": ["role": "assistant", "content": choice.text] as [String: Any],
             "logprobs": logprobsObject(choice.tokens), "finish_reason": choice.reason.rawValue] as [String: Any]
        })
        answer["usage"] = usage(promptTokens, choices.reduce(0) { $0 + $1.tokens.count })
        return answer
    }
}
