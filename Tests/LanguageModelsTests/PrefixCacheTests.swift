import Foundation
@testable import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// The prefix cache: a prompt that starts as a cached sequence copies those positions' keys and values (whole
/// granules, never the last token) and gets the tokens an uncached run gets; the bytes stay under the bound, least
/// recently used first out; a long prompt joins a batch a chunk per step while the others keep decoding.
@Suite struct PrefixCacheTests {
    static let configuration = tinyGPTConfiguration(blockSize: 64, width: 16)
    let model = BatchedDecodingTests.model(Self.configuration, seed: 77)
    /// Bytes of one cached position: keys and values of every layer, fp32.
    static let bytesPerToken = 2 * configuration.layerCount * configuration.packedQKV.keyValueWidth * 4

    static func tokens(_ count: Int, seed: UInt64) -> [Int] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Int(generator.next() % UInt64(configuration.vocabSize)) }
    }

    /// A cache holding `tokens`, prefilled in one pass.
    func filled(_ tokens: [Int]) -> KVCache {
        let cache = KVCache(Self.configuration)
        _ = model.prefill(tokens, cache: cache)
        return cache
    }

    /// Runs `prompt` alone through `batch` and returns its tokens.
    static func run(_ prompt: [Int], options: SamplingOptions, in batch: DecodingBatch) -> [Int] {
        let outcome = BatchedDecodingTests.Outcome()
        batch.submit(DecodingBatch.Request(prompt: prompt, options: options, onPiece: { outcome.add($0); return true },
                                           onFinish: { outcome.finish($0) }))
        while !outcome.isFinished { batch.step() }
        return outcome.result.0
    }

    @Test func aRepeatedPromptReusesItsPrefixAndGetsTheUncachedTokens() throws {
        var greedy = SamplingOptions()
        (greedy.temperature, greedy.maxNewTokens) = (0, 6)
        let prompt = Self.tokens(40, seed: 1)
        let uncached = Self.run(prompt, options: greedy, in: DecodingBatch(model: model, tokenizer: BatchedDecodingTests.tokenizer,
                                                                           limit: 2, prefillChunk: 8))
        let prefixes = PrefixCache(byteLimit: 1 << 20)
        let batch = DecodingBatch(model: model, tokenizer: BatchedDecodingTests.tokenizer, limit: 2, prefillChunk: 8,
                                  prefixCache: prefixes)
        let cold = Self.run(prompt, options: greedy, in: batch)
        #expect(prefixes.statistics.hits == 0 && prefixes.statistics.misses == 1)
        let warm = Self.run(prompt, options: greedy, in: batch)
        #expect(prefixes.statistics.hits == 1)
        // The finished sequence held 40 + 5 positions: two whole granules of the prompt come back.
        #expect(prefixes.statistics.reusedTokens == 32)
        #expect(cold == uncached && warm == uncached && uncached.count == 6)
    }

    @Test func aPromptDivergingMidGranuleReusesOnlyTheCommonGranules() throws {
        let prefixes = PrefixCache(byteLimit: 1 << 20)
        let original = Self.tokens(48, seed: 2)
        prefixes.offer(original[...], cache: filled(original))
        var prompt = Array(original[0..<40]) + Self.tokens(20, seed: 3)
        prompt[40] = (original[40] + 1) % Self.configuration.vocabSize  // differs inside the third granule
        let cache = KVCache(Self.configuration)
        #expect(prefixes.restore(prompt[...], into: cache) == 32)
        let logits = model.extend(Array(prompt[32...]), cache: cache)
        let onePass = model.prefill(prompt, cache: KVCache(Self.configuration))
        #expect(compare(logits, onePass, absolute: 1e-4, relative: 1e-4).passed)
        // A prompt that is the cached sequence itself keeps its last token to compute.
        #expect(prefixes.restore(original[...], into: KVCache(Self.configuration)) == 47)
        #expect(prefixes.restore(Self.tokens(30, seed: 4)[...], into: KVCache(Self.configuration)) == 0)
        #expect(prefixes.statistics == PrefixCache.Statistics(hits: 2, misses: 1, reusedTokens: 79,
                                                              bytes: 48 * Self.bytesPerToken, entries: 1))
        // A sequence extending the cached one replaces it.
        let longer = original + Self.tokens(16, seed: 5)
        prefixes.offer(longer[...], cache: filled(longer))
        #expect(prefixes.statistics.entries == 1 && prefixes.statistics.bytes == 64 * Self.bytesPerToken)
    }

    @Test func evictionKeepsTheBytesUnderTheBoundLeastRecentlyUsedFirst() throws {
        let limit = 3 * 32 * Self.bytesPerToken + 100
        let prefixes = PrefixCache(byteLimit: limit)
        let sequences = (0..<4).map { Self.tokens(32, seed: 10 + UInt64($0)) }
        for sequence in sequences[0..<3] { prefixes.offer(sequence[...], cache: filled(sequence)) }
        #expect(prefixes.statistics.entries == 3)
        #expect(prefixes.restore(sequences[0][...], into: KVCache(Self.configuration)) == 31)  // now the most recent
        prefixes.offer(sequences[3][...], cache: filled(sequences[3]))
        let statistics = prefixes.statistics
        #expect(statistics.bytes <= limit && statistics.entries == 3 && statistics.evictions == 1)
        #expect(prefixes.restore(sequences[1][...], into: KVCache(Self.configuration)) == 0, "the least recently used went")
        for i in [0, 2, 3] { #expect(prefixes.restore(sequences[i][...], into: KVCache(Self.configuration)) == 31) }
        // A sequence larger than the whole bound is not kept.
        let small = PrefixCache(byteLimit: 16 * Self.bytesPerToken)
        small.offer(sequences[0][...], cache: filled(sequences[0]))
        #expect(small.statistics.entries == 0 && small.statistics.bytes == 0)
    }

    @Test func aLongPromptJoinsInChunksWhileOthersKeepDecoding() throws {
        var greedy = SamplingOptions()
        (greedy.temperature, greedy.maxNewTokens) = (0, 12)
        let batch = DecodingBatch(model: model, tokenizer: BatchedDecodingTests.tokenizer, limit: 2, prefillChunk: 5)
        let short = BatchedDecodingTests.Outcome(), long = BatchedDecodingTests.Outcome()
        func submit(_ prompt: [Int], _ outcome: BatchedDecodingTests.Outcome) {
            batch.submit(DecodingBatch.Request(prompt: prompt, options: greedy, onPiece: { outcome.add($0); return true },
                                               onFinish: { outcome.finish($0) }))
        }
        submit([1, 2], short)
        batch.step()
        let longPrompt = Self.tokens(23, seed: 6)
        submit(longPrompt, long)
        var reports: [DecodingBatch.StepReport] = []
        for _ in 0..<5 { reports.append(batch.step()) }
        // Chunks of 5, 5, 5, 5, 3: the short request decodes at every one of those steps.
        #expect(reports.map(\.prefilledTokens) == [5, 5, 5, 5, 3])
        #expect(reports.map(\.batched) == [1, 1, 1, 1, 1])
        #expect(reports.map(\.tokens) == [1, 1, 1, 1, 2])
        while !(short.isFinished && long.isFinished) { batch.step() }
        var expected: [Int] = []
        _ = try TextGenerator(model: model, tokenizer: BatchedDecodingTests.tokenizer).generate(prompt: longPrompt, options: greedy) {
            expected += $0.tokens.map(\.token)
            return true
        }
        #expect(long.result.0 == expected)
    }
}
