import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

/// `gpt serve --threads`: a decoding batch runs its steps' kernels on the cores it was given, whatever the process
/// uses, and its requests get the tokens they get with every core.
@Suite struct BatchThreadsTests {
    /// A bigram model that notes the kernel threads in force at each forward pass.
    final class ThreadRecordingModel: LanguageModel, @unchecked Sendable {
        let inner: BigramLanguageModel
        private let lock = NSLock()
        private var seen: [Int] = []
        var configuration: ModelConfiguration { inner.configuration }
        var threadsSeen: [Int] { lock.withLock { seen } }

        init() {
            var generator = SeededGenerator(seed: 3)
            inner = BigramLanguageModel(vocabSize: 11, generator: &generator)
        }

        func forward(_ idx: [Int], batchSize: Int, targets: [Int]?, training: Bool) -> (logits: Tensor, loss: Tensor?) {
            lock.withLock { seen.append(KernelSettings.current.threads) }
            return inner.forward(idx, batchSize: batchSize, targets: targets, training: training)
        }

        func namedParameters() -> [(name: String, tensor: Tensor)] { inner.namedParameters() }
    }

    static func tokens(of batch: DecodingBatch, prompt: [Int], options: SamplingOptions) -> [Int] {
        let outcome = BatchedDecodingTests.Outcome()
        batch.submit(DecodingBatch.Request(prompt: prompt, options: options, onPiece: { outcome.add($0); return true },
                                           onFinish: { outcome.finish($0) }))
        while !outcome.isFinished { batch.step() }
        return outcome.result.0
    }

    @Test func stepsRunOnTheBatchsThreadsAndTheTokensStay() {
        var options = SamplingOptions()
        (options.temperature, options.maxNewTokens) = (0, 5)
        let recording = ThreadRecordingModel()
        let oneCore = DecodingBatch(model: recording, tokenizer: BatchedDecodingTests.tokenizer, limit: 2, threads: 1)
        _ = Self.tokens(of: oneCore, prompt: [1, 2], options: options)
        #expect(!recording.threadsSeen.isEmpty && recording.threadsSeen.allSatisfy { $0 == 1 })

        var three = KernelSettings.current
        three.threads = 3
        KernelSettings.with(three) {
            let inherited = DecodingBatch(model: recording, tokenizer: BatchedDecodingTests.tokenizer, limit: 2)
            let before = recording.threadsSeen.count
            _ = Self.tokens(of: inherited, prompt: [4], options: options)
            #expect(recording.threadsSeen.dropFirst(before).allSatisfy { $0 == 3 }, "nil keeps the caller's")
        }

        let model = BatchedDecodingTests.model(BatchedDecodingTests.configurations[1], seed: 44)
        let every = Self.tokens(of: DecodingBatch(model: model, tokenizer: BatchedDecodingTests.tokenizer, limit: 2),
                                prompt: [3, 1, 4], options: options)
        let one = Self.tokens(of: DecodingBatch(model: model, tokenizer: BatchedDecodingTests.tokenizer, limit: 2, threads: 1),
                              prompt: [3, 1, 4], options: options)
        #expect(one == every && one.count == 5)
    }

    @Test func threadsOutsideTheRangeAreRefusedNamingTheFlag() {
        for threads in [0, -1, 1025] {
            #expect(throws: GPTError.self) { try BatchingOptions(threads: threads).validate() }
        }
        #expect(throws: Never.self) { try BatchingOptions(threads: 1).validate() }
        do {
            try BatchingOptions(threads: 0).validate()
        } catch {
            #expect("\(error)".contains("--threads"))
        }
    }
}
