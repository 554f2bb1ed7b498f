import Foundation
import GPTServer
import LanguageModels
import TensorModule
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The server answers while it works: tokenizing and generating run on threads of their own, never on the HTTP
/// event loops or the threads of Swift's cooperative pool.
@Suite struct ResponsivenessTests {
    @Test func healthAnswersWithin100msWhileTwoLongGenerationsRun() async throws {
        let server = ServerTests.makeServer(parallel: 2, queue: 4, blockSize: 64, layers: 4, width: 64, seed: 4)
        try await LiveServer.with(server) { client in
            _ = try await client.request("/health")  // the client's own first-request setup, not the server's time
            // Two streamed generations of 2,000 tokens each, on a 2-core machine: both cores busy for seconds.
            let body = #"{"prompt":"abc","max_tokens":2000,"stream":true}"#
            var streams: [Int32] = []
            for _ in 0..<2 { streams.append(await DisconnectTests.openStream(port: client.port, body: body)) }
            defer { streams.forEach { close($0) } }  // hanging up ends both generations at their next token
            var latencies: [Double] = []
            let clock = ContinuousClock()
            for _ in 0..<20 {
                let start = clock.now
                let answer = try await client.request("/health", timeout: 10)
                latencies.append((clock.now - start) / .milliseconds(1))
                #expect(answer.status == 200)
                guard answer.object["running"] as? Int == 2 else { break }  // a generation ended: the load is gone
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(latencies.count >= 10, "the generations ended too soon to measure")
            // p90 of 20 under 100 ms, none over 1 s: the suite shares the two cores with every other test running
            // beside it (alone, all 20 answer within about 40 ms). Generations on the cooperative threads made the
            // first answer take 1.7 s and no second one come before a generation ended.
            let slow = latencies.filter { $0 >= 100 }
            #expect(slow.count <= 2 && latencies.allSatisfy { $0 < 1000 }, "health latencies (ms): \(latencies.map { Int($0) })")
        }
    }

    @Test func healthAnswersWhileTwoLargePromptsAreTokenized() async throws {
        // A byte-pair tokenizer takes about a second (debug build) for each 1 MB prompt; two of them on the
        // cooperative pool's two threads (two cores) held every other request for that long.
        let bpe = try BytePairTokenizer(training: String(repeating: "the king of france and the queen of spain ", count: 50),
                                        vocabularySize: 300)
        var generator = SeededGenerator(seed: 5)
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: bpe.vocabularySize, blockSize: 16)
        (configuration.layerCount, configuration.headCount, configuration.embeddingSize) = (1, 1, 8)
        let model = GPTLanguageModel(configuration, generator: &generator)
        let service = CompletionService(checkpoint: Checkpoint(model: model, tokenizer: .bytePair(bpe)), modelName: "bpe",
                                        parallel: 2, queueLimit: 4, promptLimits: PromptLimits(bytes: 1 << 20, tokens: 1 << 20))
        try await LiveServer.with(GPTServer(service: service)) { client in
            _ = try await client.request("/health")
            let prompt = String(repeating: "thekingoffranceandthequeenofspain", count: 1_000_000 / 33)
            let large = (0..<2).map { _ in
                Task { try await client.complete(#"{"prompt":"\#(prompt)","max_tokens":1}"#, timeout: 120).status }
            }
            var latencies: [Double] = []
            let clock = ContinuousClock()
            while latencies.count < 200 {
                let start = clock.now
                let load = try await client.request("/health", timeout: 10).object
                latencies.append((clock.now - start) / .milliseconds(1))
                if latencies.count >= 5, load["running"] as? Int == 0 { break }  // both prompts answered
                try await Task.sleep(for: .milliseconds(20))
            }
            for task in large { #expect(try await task.value == 200) }
            #expect(latencies.count >= 5, "the prompts were tokenized too soon to measure")
            let slow = latencies.filter { $0 >= 100 }
            #expect(slow.count <= max(2, latencies.count / 10) && latencies.allSatisfy { $0 < 500 },
                    "health latencies (ms): \(latencies.map { Int($0) })")
        }
    }
}
