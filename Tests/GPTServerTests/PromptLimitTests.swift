import Foundation
@testable import GPTServer
import LanguageModels
import TensorModule
import Testing

/// Prompts are bounded in bytes (before they queue) and in tokens (as they are tokenized, on a generation thread);
/// a model whose logits stop being finite answers a clear error, never `200 {}`.
@Suite struct PromptLimitTests {
    /// A server over a random GPT with the vocabulary "abcdefghij " (block 8), prompts limited to `limits`; every
    /// weight `weight` when given.
    static func makeServer(limits: PromptLimits = PromptLimits(), weight: Float? = nil) -> GPTServer {
        var generator = SeededGenerator(seed: 21)
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: 11, blockSize: 8)
        (configuration.layerCount, configuration.headCount, configuration.embeddingSize) = (2, 2, 8)
        let model = GPTLanguageModel(configuration, generator: &generator)
        if let weight {
            for tensor in model.parameters {
                for i in 0..<tensor.count { tensor.storage.pointer[i] = weight }
            }
        }
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghij "))
        let service = CompletionService(checkpoint: Checkpoint(model: model, tokenizer: tokenizer), modelName: "tiny",
                                        parallel: 2, queueLimit: 4, promptLimits: limits)
        return GPTServer(service: service)
    }

    static func error(_ answer: LiveServer.Answer) -> [String: Any] { answer.object["error"] as? [String: Any] ?? [:] }

    @Test func aPromptOverTheByteLimitIsRefusedNamingThePrompt() async throws {
        try await LiveServer.with(Self.makeServer(limits: PromptLimits(bytes: 100, tokens: 1000))) { client in
            let long = String(repeating: "abcd", count: 26)  // 104 bytes
            let answer = try await client.complete(#"{"prompt":"\#(long)","max_tokens":1}"#)
            #expect(answer.status == 400)
            #expect(Self.error(answer)["param"] as? String == "prompt")
            #expect(Self.error(answer)["code"] as? String == "prompt_too_long")
            #expect((Self.error(answer)["message"] as? String)?.contains("--max-prompt-bytes") == true)
            // Several prompts count together; under the limit they pass.
            let half = String(repeating: "ab", count: 26)
            #expect(try await client.complete(#"{"prompt":["\#(half)","\#(half)"],"max_tokens":1}"#).status == 400)
            #expect(try await client.complete(#"{"prompt":["\#(half)"],"max_tokens":1}"#).status == 200)
            // A multi-byte character counts its UTF-8 bytes.
            let wide = String(repeating: "é", count: 51)  // 102 bytes, 51 characters
            #expect(try await client.complete(#"{"prompt":"\#(wide)","max_tokens":1}"#).status == 400)
        }
    }

    @Test func aPromptOverTheTokenLimitIsRefusedNamingThePrompt() async throws {
        try await LiveServer.with(Self.makeServer(limits: PromptLimits(bytes: 1 << 20, tokens: 50))) { client in
            let answer = try await client.complete(#"{"prompt":"\#(String(repeating: "a", count: 51))","max_tokens":1}"#)
            #expect(answer.status == 400)
            #expect(Self.error(answer)["code"] as? String == "prompt_too_long")
            #expect((Self.error(answer)["message"] as? String)?.contains("--max-prompt-tokens") == true)
            let fits = try await client.complete(#"{"prompt":"\#(String(repeating: "a", count: 50))","max_tokens":1}"#)
            #expect(fits.status == 200)
            #expect(fits.object["warning"] as? String != nil, "50 tokens past a block of 8 are cropped, with a warning")
            // The refused request gave its slot back.
            #expect(try await client.request("/health").object["running"] as? Int == 0)
        }
    }

    @Test func weightsWhoseForwardOverflowsAnswerAServerErrorNotAnEmptyObject() async throws {
        // Finite weights (3e38) whose sums overflow: the issue's reproduction answered `200 {}`.
        try await LiveServer.with(Self.makeServer(weight: 3e38)) { client in
            let answer = try await client.complete(#"{"prompt":"abc","max_tokens":4}"#)
            #expect(answer.status == 500, "\(answer.status) \(answer.text)")
            #expect(Self.error(answer)["code"] as? String == "non_finite_logits")
            #expect((Self.error(answer)["message"] as? String)?.contains("not finite") == true)
            // Streamed: the error object as an event, and no [DONE].
            let streamed = try await client.complete(#"{"prompt":"abc","max_tokens":4,"stream":true}"#)
            #expect(streamed.text.contains("non_finite_logits"), "\(streamed.text)")
            #expect(!streamed.text.contains("[DONE]"))
            #expect(try await client.request("/health").object["running"] as? Int == 0)
        }
    }
}
