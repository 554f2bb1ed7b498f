import Foundation
import GPTServer
import LanguageModels
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The server's generations run in one decoding batch: requests served side by side get the text each gets alone,
/// `/metrics` reports the batches in Prometheus' text format, and `/tokenize` and `/detokenize` answer in
/// llama-server's shapes.
@Suite struct BatchingServerTests {
    static let bodies = [
        #"{"prompt":"abc","max_tokens":20,"temperature":0}"#,
        #"{"prompt":"j","max_tokens":14,"temperature":0}"#,
        #"{"prompt":"hi bad","max_tokens":20,"temperature":1,"seed":5}"#,
        #"{"prompt":"dig deed","max_tokens":9,"temperature":0,"stop":["e"]}"#,
    ]

    /// The value of the sample `name` (a line `name value`) in a metrics exposition.
    static func sample(_ name: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }

    @Test func concurrentRequestsGetTheirTextAloneAndShareSteps() async throws {
        let server = ServerTests.makeServer(parallel: 4, blockSize: 16, width: 16)
        try await LiveServer.with(server) { server in
            var alone: [String?] = []
            for body in Self.bodies { alone.append(ServerTests.text(try await server.complete(body))) }
            let metricsBefore = try await server.request("/metrics").text
            let together = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for (i, body) in Self.bodies.enumerated() {
                    group.addTask { (i, ServerTests.text(try await server.complete(body))) }
                }
                return try await group.reduce(into: [Int: String?]()) { $0[$1.0] = $1.1 }
            }
            for i in Self.bodies.indices {
                #expect(alone[i] != nil && together[i] == alone[i], "request \(i)")
            }
            let metrics = try await server.request("/metrics")
            #expect(metrics.status == 200 && metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            // Steps that advanced more than one sequence: all steps less those of batch 1, before and after.
            let ones = "gpt_step_batch_size_bucket{le=\"1.0\"}"
            func shared(_ text: String) -> Double {
                (Self.sample("gpt_step_batch_size_count", in: text) ?? 0) - (Self.sample(ones, in: text) ?? 0)
            }
            #expect(shared(text) > shared(metricsBefore), "the concurrent requests shared steps")
            #expect(Self.sample("gpt_requests_total", in: text) == 8)
            #expect(Self.sample("gpt_time_to_first_token_seconds_count", in: text) == 8)
            #expect(Self.sample("gpt_prompt_tokens_total", in: text) == 2 * Double(3 + 1 + 6 + 8))
            #expect(Self.sample("gpt_requests_running", in: text) == 0)
        }
    }

    /// The same long prompt twice: the second copies the first's keys and values (whole granules) from the prefix
    /// cache and answers the same text; `/metrics` counts it. With `--cache-mb 0` there is no cache and no series.
    @Test func aRepeatedPromptHitsThePrefixCache() async throws {
        let body = #"{"prompt":"abc abc bad dig jig hi a bag feed","max_tokens":4,"temperature":0}"#  // 33 tokens
        let batching = BatchingOptions(prefillChunk: 8, prefixCacheMegabytes: 1)
        try await LiveServer.with(ServerTests.makeServer(blockSize: 48, width: 16, batching: batching)) { server in
            let cold = ServerTests.text(try await server.complete(body))
            let warm = ServerTests.text(try await server.complete(body))
            #expect(cold != nil && warm == cold)
            let text = try await server.request("/metrics").text
            #expect(Self.sample("gpt_prefix_cache_hits_total", in: text) == 1)
            #expect(Self.sample("gpt_prefix_cache_misses_total", in: text) == 1)
            #expect(Self.sample("gpt_prefix_cache_reused_tokens_total", in: text) == 32)
            #expect(Self.sample("gpt_prefix_cache_entries", in: text) == 1)
            #expect((Self.sample("gpt_prefix_cache_bytes", in: text) ?? 0) > 0)
            // The cold prompt runs 32 tokens (its last is decoded with the batch); the warm one computes one.
            #expect(Self.sample("gpt_prefill_tokens_total", in: text) == 33)
        }
        let off = BatchingOptions(prefixCacheMegabytes: 0)
        try await LiveServer.with(ServerTests.makeServer(batching: off)) { server in
            _ = try await server.complete(#"{"prompt":"abc","max_tokens":2}"#)
            #expect(!(try await server.request("/metrics").text).contains("gpt_prefix_cache"))
        }
        #expect(throws: GPTError.self) { try BatchingOptions(prefillChunk: 0).validate() }
        #expect(throws: GPTError.self) { try BatchingOptions(prefixCacheMegabytes: -1).validate() }
    }

    @Test func tokenizeAndDetokenizeRoundTrip() async throws {
        try await LiveServer.with(ServerTests.makeServer()) { server in
            let tokens = try await server.request("/tokenize", method: "POST", body: #"{"content":"bad jig"}"#)
            #expect(tokens.status == 200)
            let ids = try #require(tokens.object["tokens"] as? [Int])
            #expect(ids.count == 7)
            let text = try await server.request("/detokenize", method: "POST", body: #"{"tokens":\#(ids)}"#)
            #expect(text.object["content"] as? String == "bad jig")
            for (path, body, param) in [("/tokenize", #"{"content":"xyz"}"#, "content"), ("/tokenize", #"{"text":"a"}"#, "content"),
                                        ("/detokenize", #"{"tokens":[1,99]}"#, "tokens"), ("/detokenize", #"{"tokens":[1.5]}"#, "tokens"),
                                        ("/detokenize", "[1]", nil)] {
                let answer = try await server.request(path, method: "POST", body: body)
                #expect(answer.status == 400, "\(path) \(body)")
                #expect((answer.object["error"] as? [String: Any])?["param"] as? String == param, "\(path) \(body)")
            }
        }
    }

    /// `gpt serve --kv-cache fp16`: every generation's cache is half precision, so a completion's log-probabilities
    /// are those of the same generation run here with `SamplingOptions.kvCache = .float16`, not the fp32 cache's.
    @Test func theServersKVCachePrecisionReachesEveryGeneration() async throws {
        func local(_ precision: KVCachePrecision) throws -> [Float] {
            var generator = SeededGenerator(seed: 21)
            var configuration = ModelConfiguration(modelType: .gpt, vocabSize: 11, blockSize: 16)
            (configuration.layerCount, configuration.headCount, configuration.embeddingSize) = (2, 2, 16)
            let model = GPTLanguageModel(configuration, generator: &generator)
            let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghij "))
            var options = SamplingOptions()
            (options.temperature, options.maxNewTokens, options.logprobs, options.kvCache) = (0, 10, 1, precision)
            var values: [Float] = []
            let text = TextGenerator(model: model, tokenizer: tokenizer)
            try text.generate(prompt: try text.promptTokens("abc"), options: options) {
                values += $0.tokens.map(\.logprob)
                return true
            }
            return values
        }
        let (half, full) = (try local(.float16), try local(.float32))
        #expect(half != full && half.count == 10)
        let server = ServerTests.makeServer(blockSize: 16, width: 16, batching: BatchingOptions(kvCache: .float16))
        try await LiveServer.with(server) { server in
            let answer = try await server.complete(#"{"prompt":"abc","max_tokens":10,"temperature":0,"logprobs":1}"#)
            let choice = (answer.object["choices"] as? [[String: Any]])?.first ?? [:]
            let served = ((choice["logprobs"] as? [String: Any])?["token_logprobs"] as? [Double] ?? []).map(Float.init)
            #expect(answer.status == 200 && served == half, "\(served) vs \(half)")
        }
    }
}
