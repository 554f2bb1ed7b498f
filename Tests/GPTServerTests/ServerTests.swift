import Foundation
import GPTServer
import LanguageModels
import TensorModule
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite struct ServerTests {
    /// A server over a random GPT with the vocabulary "abcdefghij ": `layers` layers of as many heads, `width`
    /// wide, block `blockSize`.
    static func makeServer(apiKey: String? = nil, parallel: Int = 2, queue: Int = 16, blockSize: Int = 8,
                           layers: Int = 2, width: Int = 8, seed: UInt64 = 21,
                           batching: BatchingOptions = BatchingOptions()) -> GPTServer {
        var generator = SeededGenerator(seed: seed)
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: 11, blockSize: blockSize)
        (configuration.layerCount, configuration.headCount, configuration.embeddingSize) = (layers, layers, width)
        let model = GPTLanguageModel(configuration, generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghij "))
        let service = CompletionService(checkpoint: Checkpoint(model: model, tokenizer: tokenizer), modelName: "tiny",
                                        parallel: parallel, queueLimit: queue, batching: batching)
        return GPTServer(service: service, apiKey: apiKey, maximumBodySize: 4096)
    }

    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    static func text(_ answer: LiveServer.Answer) -> String? {
        ((answer.object["choices"] as? [[String: Any]])?.first?["text"] as? String)
    }

    @Test func withoutASeedEachRequestDrawsItsOwnAndReportsIt() async throws {
        try await LiveServer.with(Self.makeServer()) { server in
            let body = #"{"prompt":"abc","max_tokens":40,"temperature":1.5}"#
            let first = try await server.complete(body), second = try await server.complete(body)
            #expect(Self.text(first) != nil && Self.text(first) != Self.text(second))
            let seed = try #require(first.object["seed"] as? Int)
            #expect(seed != second.object["seed"] as? Int)
            // The reported seed repeats the text; the same seed twice gives the same text.
            let again = try await server.complete(#"{"prompt":"abc","max_tokens":40,"temperature":1.5,"seed":\#(seed)}"#)
            #expect(Self.text(again) == Self.text(first))
            #expect(again.object["seed"] as? Int == seed)
        }
    }

    @Test func unknownRoutesAnswerOpenAIErrors() async throws {
        try await LiveServer.with(Self.makeServer()) { server in
            for (path, method, status) in [("/v1/edits", "POST", 404), ("/nothing/here", "GET", 404),
                                           ("/v1/completions", "GET", 404)] {
                let answer = try await server.request(path, method: method, body: method == "POST" ? "{}" : nil)
                #expect(answer.status == status, "\(method) \(path)")
                #expect(answer.headers["content-type"] == "application/json", "\(method) \(path)")
                let error = answer.object["error"] as? [String: Any]
                #expect((error?["message"] as? String)?.isEmpty == false, "\(method) \(path)")
            }
        }
    }

    @Test func completionHasOpenAIsShape() async throws {
        try await LiveServer.with(Self.makeServer()) { server in
            let body = #"{"model":"tiny","prompt":"abc","max_tokens":5,"n":2,"logprobs":2,"seed":3}"#
            do {
                let response = try await server.complete(body)
                #expect(response.status == 200)
                let object = response.object
                #expect(object["object"] as? String == "text_completion")
                let choices = object["choices"] as? [[String: Any]] ?? []
                #expect(choices.count == 2)
                #expect((choices.first?["text"] as? String)?.count == 5)
                #expect(choices.first?["finish_reason"] as? String == "length")
                let logprobs = choices.first?["logprobs"] as? [String: Any]
                #expect((logprobs?["tokens"] as? [String])?.count == 5)
                let usage = object["usage"] as? [String: Int]
                #expect(usage == ["prompt_tokens": 6, "completion_tokens": 10, "total_tokens": 16])
            }
        }
    }

    @Test func streamEndsWithDone() async throws {
        try await LiveServer.with(Self.makeServer()) { server in
            let body = #"{"prompt":"abcabcabcabc","max_tokens":4,"stream":true,"stop":["zz"]}"#
            do {
                let response = try await server.complete(body)
                #expect(response.headers["content-type"] == "text/event-stream")
                let events = response.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
                #expect(events.last == "data: [DONE]")
                let chunks = events.dropLast().map { Self.object(String($0.dropFirst(6))) }
                // Four one-character tokens, in as many chunks as the writer took them in (a writer behind the
                // model joins waiting pieces), then the finish.
                let texts = chunks.dropLast().map { (($0["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? "?" }
                #expect((1...4).contains(texts.count) && texts.joined().count == 4)
                #expect(chunks.allSatisfy { $0["object"] as? String == "text_completion" })
                #expect((chunks.last?["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "length")
                // The 12-character prompt was cropped to the block size of 8, and the response says so.
                #expect((chunks.first?["warning"] as? String)?.contains("cropped") == true)
            }
        }
    }

    @Test func badRequestsGetOpenAIErrorsNamingTheField() async throws {
        let cases: [(String, Int, String?)] = [
            ("not json", 400, nil), ("[1]", 400, nil), (#"{"prompt": 3}"#, 400, "prompt"),
            (#"{"temperature": -1}"#, 400, "temperature"), (#"{"top_p": 0}"#, 400, "top_p"),
            (#"{"max_tokens": 0}"#, 400, "max_tokens"), (#"{"max_tokens": 1e300}"#, 400, "max_tokens"),
            (#"{"n": true}"#, 400, "n"), (#"{"stream": "yes"}"#, 400, "stream"), (#"{"stop": [1]}"#, 400, "stop"),
            (#"{"prompt": "xyz"}"#, 400, "prompt"), (#"{"model": "other"}"#, 404, "model"),
            (String(repeating: " ", count: 5000) + "{}", 413, nil),
        ]
        try await LiveServer.with(Self.makeServer()) { server in
            for (body, status, param) in cases {
                let response = try await server.complete(body)
                #expect(response.status == status, "\(body.prefix(40))")
                let error = response.object["error"] as? [String: Any]
                #expect(error?["message"] is String, "\(body.prefix(40))")
                #expect(error?["param"] as? String == param, "\(body.prefix(40))")
            }
        }
    }

    @Test func apiKeyIsRequiredWhenSet() async throws {
        try await LiveServer.with(Self.makeServer(apiKey: "secret")) { server in
            #expect(try await server.request("/v1/models").status == 401)
            let models = try await server.request("/v1/models", headers: ["Authorization": "Bearer secret"])
            #expect(models.status == 200)
            #expect(((models.object["data"] as? [[String: Any]])?.first?["id"] as? String) == "tiny")
            #expect(try await server.request("/health").status == 200)
            let page = try await server.request("/")
            #expect(page.text.contains("<textarea"))
            #expect(!page.text.contains("<script src"))
        }
    }

    @Test func aFullQueueAnswers503() async throws {
        // One slot, no queue: of many simultaneous long requests, some must be refused, none may fail otherwise.
        try await LiveServer.with(Self.makeServer(parallel: 1, queue: 0)) { server in
            var statuses: [Int] = []
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await server.complete(#"{"prompt":"abc","max_tokens":400}"#).status }
                }
                for try await status in group { statuses.append(status) }
            }
            #expect(statuses.contains(503))
            #expect(statuses.contains(200))
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 503 })
        }
    }
}
