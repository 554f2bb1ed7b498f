import Foundation
@testable import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// A half-precision KV cache (`--kv-cache fp16`): batched decoding still gives each sequence exactly its logits
/// alone, and a request its tokens alone; the logits stay within the keys' and values' rounding of the fp32 cache's;
/// the prefix cache keeps half the bytes and restores only into a cache of its precision.
@Suite struct HalfPrecisionCacheTests {
    static let configurations = BatchedDecodingTests.configurations

    @Test(arguments: configurations.indices)
    func aBatchedStepEqualsEachSequenceAloneAndStaysNearFP32(variant: Int) {
        let configuration = Self.configurations[variant]
        let model = BatchedDecodingTests.model(configuration, seed: 160 + UInt64(variant))
        let prompts = [[3], [1, 4, 1, 5], [9, 2, 6]]
        let steps = [[2, 7, 1], [8, 2, 8], [1, 8, 2]]
        let caches = { (precision: KVCachePrecision) in
            prompts.map { KVCache(configuration, positions: $0.count + steps.count, precision: precision) }
        }
        let alone = caches(.float16), together = caches(.float16), exact = caches(.float32)
        for (b, prompt) in prompts.enumerated() {
            _ = model.prefill(prompt, cache: alone[b])
            _ = model.prefill(prompt, cache: together[b])
            _ = model.prefill(prompt, cache: exact[b])
        }
        for (s, tokens) in steps.enumerated() {
            let rows = model.decode(tokens, caches: together)
            for b in prompts.indices {
                let single = model.decode(tokens[b], cache: alone[b]), reference = model.decode(tokens[b], cache: exact[b])
                #expect(rows[b] == single, "step \(s) sequence \(b): batched as alone, bit for bit")
                // Keys and values rounded to 11 significant bits move logits of order 1 by about 1e-3.
                let result = compare(single, reference, absolute: 2e-2, relative: 2e-2)
                #expect(result.passed, "step \(s) sequence \(b): \(result)")
                #expect(single != reference, "the cache really is half precision")
            }
        }
    }

    /// A chunk after cached positions reads them widened from half precision: close to one pass over the prompt.
    @Test func chunkedPrefillStaysNearOnePass() {
        let configuration = Self.configurations[1]
        let model = BatchedDecodingTests.model(configuration, seed: 170)
        let tokens = [3, 1, 4, 1, 5, 9, 2, 6]  // within every variant's block size
        let cache = KVCache(configuration, precision: .float16)
        _ = model.extend(Array(tokens[0..<4]), cache: cache)
        let chunked = model.extend(Array(tokens[4...]), cache: cache)
        let onePass = model.prefill(tokens, cache: KVCache(configuration))
        let result = compare(chunked, onePass, absolute: 2e-2, relative: 2e-2)
        #expect(result.passed, "\(result)")
        #expect(cache.count == tokens.count)
    }

    @Test func aRequestGetsItsTokensAloneInABatch() throws {
        let model = BatchedDecodingTests.model(Self.configurations[0], seed: 171)
        var options = SamplingOptions()
        (options.temperature, options.maxNewTokens, options.kvCache) = (0, 8, .float16)
        let generator = TextGenerator(model: model, tokenizer: BatchedDecodingTests.tokenizer)
        let batch = DecodingBatch(model: model, tokenizer: BatchedDecodingTests.tokenizer, limit: 3)
        let prompts = [[3, 1, 4], [2], [1, 5, 9, 2, 6]]
        let outcomes = prompts.map { _ in BatchedDecodingTests.Outcome() }
        for (prompt, outcome) in zip(prompts, outcomes) {
            batch.submit(DecodingBatch.Request(prompt: prompt, options: options, onPiece: { outcome.add($0); return true },
                                               onFinish: { outcome.finish($0) }))
        }
        var largest = 0
        while !outcomes.allSatisfy(\.isFinished) { largest = max(largest, batch.step().batched) }
        #expect(largest == 3)
        for (prompt, outcome) in zip(prompts, outcomes) {
            var alone: [Int] = []
            try generator.generate(prompt: prompt, options: options) { alone += $0.tokens.map(\.token); return true }
            #expect(outcome.result.0 == alone && alone.count == 8)
        }
    }

    @Test func thePrefixCacheKeepsHalfTheBytesAndRestoresOnlyItsPrecision() {
        let configuration = PrefixCacheTests.configuration
        let model = BatchedDecodingTests.model(configuration, seed: 172)
        let tokens = PrefixCacheTests.tokens(40, seed: 9)
        let cache = KVCache(configuration, precision: .float16)
        _ = model.prefill(tokens, cache: cache)
        let prefixes = PrefixCache(byteLimit: 1 << 20)
        prefixes.offer(tokens[...], cache: cache)
        #expect(prefixes.statistics.bytes == 32 * PrefixCacheTests.bytesPerToken / 2)
        #expect(prefixes.restore(tokens[...], into: KVCache(configuration)) == 0, "not into an fp32 cache")
        let restored = KVCache(configuration, precision: .float16)
        #expect(prefixes.restore(tokens[...], into: restored) == 32)
        // The copied positions are the original's: the next token's logits match a cache that kept them.
        let original = KVCache(configuration, precision: .float16)
        _ = model.prefill(Array(tokens[0..<32]), cache: original)
        #expect(model.decode(tokens[32], cache: restored) == model.decode(tokens[32], cache: original))
    }
}
