import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// Batched decoding: B sequences, each at its own position with its own cache, advanced in one forward pass, give
/// each sequence the logits (and so the tokens) it gets alone; ``DecodingBatch`` lets requests join and leave
/// between steps without changing any request's tokens.
@Suite struct BatchedDecodingTests {
    static let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghijk"))

    /// The 2019 layout (learned positions, LayerNorm) and the modern variants, with weights large enough that every
    /// option changes the logits.
    static let configurations: [ModelConfiguration] = [tinyGPTConfiguration(blockSize: 12, width: 16)] + ModernModelTests.variants

    static func model(_ configuration: ModelConfiguration, seed: UInt64) -> GPTLanguageModel {
        var generator = SeededGenerator(seed: seed)
        let model = GPTLanguageModel(configuration, generator: &generator)
        for (_, parameter) in model.namedParameters() { generator.fillNormal(parameter.storage.buffer, mean: 0, std: 0.3) }
        return model
    }

    @Test(arguments: configurations.indices)
    func batchedStepEqualsEachSequenceAlone(variant: Int) {
        let configuration = Self.configurations[variant]
        let model = Self.model(configuration, seed: 60 + UInt64(variant))
        let prompts = [[3], [1, 4, 1, 5], [9, 2, 6]]  // different lengths: every row at its own position
        let steps = [[2, 7, 1], [8, 2, 8], [1, 8, 2]]  // steps[s][b]: the token sequence b appends at step s
        let weights = RoundedWeights(model.matrices)
        for precision in [MatrixPrecision.float32, .bfloat16, .q8] {
            let alone = prompts.map { KVCache(configuration, positions: $0.count + steps.count) }
            let together = prompts.map { KVCache(configuration, positions: $0.count + steps.count) }
            KernelSettings.with(precision: precision, weights: precision == .float32 ? nil : weights) {
                for (b, prompt) in prompts.enumerated() {
                    _ = model.prefill(prompt, cache: alone[b])
                    _ = model.prefill(prompt, cache: together[b])
                }
                for (s, tokens) in steps.enumerated() {
                    let rows = model.decode(tokens, caches: together)
                    for b in prompts.indices {
                        let single = model.decode(tokens[b], cache: alone[b])
                        let tolerance: Float = precision == .float32 ? 0 : 0.05  // fp32: the few-rows product gives each row its sums alone
                        #expect(compare(rows[b], single, absolute: tolerance, relative: tolerance).passed,
                                "\(precision) step \(s) sequence \(b)")
                    }
                }
            }
            #expect(zip(alone, together).allSatisfy { $0.count == $1.count })
        }
    }

    /// What ``TextGenerator`` generates for `prompt` alone: the tokens and the finish reason.
    func alone(_ model: GPTLanguageModel, prompt: [Int], options: SamplingOptions, sample: Int = 0) throws -> ([Int], FinishReason) {
        var tokens: [Int] = []
        let reason = try TextGenerator(model: model, tokenizer: Self.tokenizer).generate(prompt: prompt, options: options, sample: sample) {
            tokens += $0.tokens.map(\.token)
            return true
        }
        return (tokens, reason)
    }

    /// Collects one request's tokens and its end.
    final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var tokens: [Int] = [], reason: Result<FinishReason, any Error>?
        func add(_ piece: GeneratedPiece) { lock.withLock { tokens += piece.tokens.map(\.token) } }
        func finish(_ result: Result<FinishReason, any Error>) { lock.withLock { reason = result } }
        var result: ([Int], FinishReason?) {
            lock.withLock { (tokens, try? reason?.get()) }
        }
        var isFinished: Bool { lock.withLock { reason != nil } }
    }

    func request(_ prompt: [Int], _ options: SamplingOptions, sample: Int = 0, outcome: Outcome,
                 cancelled: CancellationFlag = CancellationFlag()) -> DecodingBatch.Request {
        DecodingBatch.Request(prompt: prompt, options: options, sample: sample,
                              onPiece: { outcome.add($0); return true }, isCancelled: { cancelled.isSet },
                              onFinish: { outcome.finish($0) })
    }

    /// With chunks of 3 tokens, prompts join over several steps and a slid window is prefilled again in chunks.
    @Test(arguments: [(0, 128), (2, 128), (0, 3), (3, 2)])
    func requestsJoiningAtDifferentStepsGetTheirTokensAlone(variant: Int, chunk: Int) throws {
        let model = Self.model(Self.configurations[variant], seed: 90)
        var greedy = SamplingOptions()
        (greedy.temperature, greedy.maxNewTokens) = (0, 14)  // past the block size: the window slides
        var sampled = SamplingOptions()
        (sampled.maxNewTokens, sampled.seed) = (9, 7)
        var stopping = greedy
        stopping.maxNewTokens = 5
        let requests: [(prompt: [Int], options: SamplingOptions, sample: Int, joinsAt: Int)] = [
            ([3, 1, 4], greedy, 0, 0), ([2], greedy, 0, 0), ([1, 5, 9, 2, 6], sampled, 1, 2), ([7, 7], stopping, 0, 3),
            ([4, 4, 4, 4, 4, 4], greedy, 0, 5),
        ]
        let batch = DecodingBatch(model: model, tokenizer: Self.tokenizer, limit: 4, prefillChunk: chunk)
        let outcomes = requests.map { _ in Outcome() }
        var step = 0, largest = 0
        while step < 400, !outcomes.allSatisfy(\.isFinished) {
            for (i, entry) in requests.enumerated() where entry.joinsAt == step {
                batch.submit(request(entry.prompt, entry.options, sample: entry.sample, outcome: outcomes[i]))
            }
            largest = max(largest, batch.step().batched)
            step += 1
        }
        #expect(largest >= 3, "sequences were decoded together")
        for (i, entry) in requests.enumerated() {
            let expected = try alone(model, prompt: entry.prompt, options: entry.options, sample: entry.sample)
            let (tokens, reason) = outcomes[i].result
            #expect(tokens == expected.0, "request \(i)")
            #expect(reason == expected.1, "request \(i)")
        }
        #expect(batch.load == (0, 0))
    }

    @Test func theLimitHoldsAndCancelledRequestsLeave() throws {
        let model = Self.model(Self.configurations[0], seed: 5)
        var options = SamplingOptions()
        (options.temperature, options.maxNewTokens) = (0, 30)
        let batch = DecodingBatch(model: model, tokenizer: Self.tokenizer, limit: 2)
        let outcomes = (0..<3).map { _ in Outcome() }, flags = (0..<3).map { _ in CancellationFlag() }
        for i in 0..<3 { batch.submit(request([i + 1], options, outcome: outcomes[i], cancelled: flags[i])) }
        batch.step()
        #expect(batch.load == (2, 1))
        flags[0].set()
        let report = batch.step()  // the first leaves, the third joins (prefilled) and the second decodes
        #expect(outcomes[0].isFinished && outcomes[0].result.1 == .stop)
        #expect((report.batched, report.prefilled) == (1, 1))
        #expect(batch.load == (2, 0))
        let empty = Outcome()
        batch.submit(request([], options, outcome: empty))  // refused at once: no tokens
        #expect(empty.isFinished && empty.result.1 == nil)
    }

    @Test func runServesRequestsFromOtherThreadsUntilShutDown() async throws {
        let model = Self.model(Self.configurations[1], seed: 8)
        var greedy = SamplingOptions()
        (greedy.temperature, greedy.maxNewTokens) = (0, 6)
        let options = greedy
        let batch = DecodingBatch(model: model, tokenizer: Self.tokenizer, limit: 3)
        let thread = Thread { batch.run() }
        thread.start()
        let results = try await withThrowingTaskGroup(of: (Int, FinishReason).self) { group in
            for prompt in 1...4 {
                group.addTask {
                    try await withCheckedThrowingContinuation { continuation in
                        batch.submit(DecodingBatch.Request(prompt: [prompt], options: options, onPiece: { _ in true },
                                                           onFinish: { continuation.resume(with: $0.map { (prompt, $0) }) }))
                    }
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 4 && results.values.allSatisfy { $0 == .length })
        batch.shutDown()
        let late = Outcome()
        batch.submit(request([1], options, outcome: late))
        #expect(late.isFinished && late.result.1 == nil, "a batch that was shut down refuses")
    }
}
