import Foundation
import GPTServer
import Hummingbird
import HummingbirdTesting
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
                           layers: Int = 2, width: Int = 8, seed: UInt64 = 21) -> GPTServer {
        var generator = SeededGenerator(seed: seed)
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: 11, blockSize: blockSize)
        (configuration.layerCount, configuration.headCount, configuration.embeddingSize) = (layers, layers, width)
        let model = GPTLanguageModel(configuration, generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghij "))
        let service = CompletionService(checkpoint: Checkpoint(model: model, tokenizer: tokenizer), modelName: "tiny",
                                        parallel: parallel, queueLimit: queue)
        return GPTServer(service: service, apiKey: apiKey, maximumBodySize: 4096)
    }

    static func application(_ server: GPTServer) -> some ApplicationProtocol {
        Application(router: server.router())
    }

    static func object(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
    }

    @Test func completionHasOpenAIsShape() async throws {
        try await Self.application(Self.makeServer()).test(.router) { client in
            let body = #"{"model":"tiny","prompt":"abc","max_tokens":5,"n":2,"logprobs":2,"seed":3}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
                let object = Self.object(response.body)
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
        try await Self.application(Self.makeServer()).test(.router) { client in
            let body = #"{"prompt":"abcabcabcabc","max_tokens":4,"stream":true,"stop":["zz"]}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.headers[.contentType] == "text/event-stream")
                let events = String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
                #expect(events.last == "data: [DONE]")
                let chunks = events.dropLast().map { Self.object(ByteBuffer(string: String($0.dropFirst(6)))) }
                #expect(chunks.count == 5)  // four tokens and the finish
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
        try await Self.application(Self.makeServer()).test(.router) { client in
            for (body, status, param) in cases {
                try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: body)) { response in
                    #expect(response.status.code == status, "\(body.prefix(40))")
                    let error = Self.object(response.body)["error"] as? [String: Any]
                    #expect(error?["message"] is String, "\(body.prefix(40))")
                    #expect(error?["param"] as? String == param, "\(body.prefix(40))")
                }
            }
        }
    }

    @Test func apiKeyIsRequiredWhenSet() async throws {
        try await Self.application(Self.makeServer(apiKey: "secret")).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer secret"]) { response in
                #expect(response.status == .ok)
                #expect(((Self.object(response.body)["data"] as? [[String: Any]])?.first?["id"] as? String) == "tiny")
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(String(buffer: response.body).contains("<textarea"))
                #expect(!String(buffer: response.body).contains("<script src"))
            }
        }
    }

    @Test func aFullQueueAnswers503() async throws {
        // One slot, no queue: of many simultaneous long requests, some must be refused, none may fail otherwise.
        try await Self.application(Self.makeServer(parallel: 1, queue: 0)).test(.live) { client in
            // Separate connections (the test client shares one), so the requests really overlap.
            let url = URL(string: "http://127.0.0.1:\(client.port!)/v1/completions")!
            var statuses: [Int] = []
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        var request = URLRequest(url: url)
                        request.httpMethod = "POST"
                        request.httpBody = Data(#"{"prompt":"abc","max_tokens":400}"#.utf8)
                        let (_, response) = try await URLSession.shared.data(for: request)
                        return (response as? HTTPURLResponse)?.statusCode ?? 0
                    }
                }
                for try await status in group { statuses.append(status) }
            }
            #expect(statuses.contains(503))
            #expect(statuses.contains(200))
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 503 })
        }
    }
}
