import Foundation
@testable import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// Chunked prefill: a prompt appended to a KV cache a chunk at a time (``GPTLanguageModel/extend(_:cache:)``) gives
/// the logits of one pass over the whole prompt, in every layout and precision, and the chunk's attention (matrix
/// products per head over the cached positions) equals the naive loop.
@Suite struct ChunkedPrefillTests {
    /// The three layouts and a Llama-shaped family model (grouped-query attention, SwiGLU, rotary), with a context
    /// long enough for chunks of more than one block of 64 query rows.
    static let configurations: [ModelConfiguration] = ModelLayout.allCases.map { layout in
        var c = tinyGPTConfiguration(vocabularySize: 13, blockSize: 150, layers: 2, heads: 4, width: 16)
        layout.apply(to: &c)
        return c
    } + [{ var c = FamilyModelTests.llama(gains: true); c.blockSize = 150; return c }()]

    /// Chunk sizes covering one token, short chunks, and chunks longer than a row block.
    static let chunks = [3, 70, 1, 40, 26]

    @Test(arguments: configurations.indices)
    func extendingInChunksEqualsOnePass(variant: Int) throws {
        let configuration = Self.configurations[variant]
        try configuration.validate()
        let model = BatchedDecodingTests.model(configuration, seed: 200 + UInt64(variant))
        var generator = SeededGenerator(seed: 9)
        let tokens = (0..<Self.chunks.reduce(0, +)).map { _ in Int(generator.next() % UInt64(configuration.vocabSize)) }
        let weights = RoundedWeights(model.matrices)
        for precision in [MatrixPrecision.float32, .bfloat16, .q8] {
            KernelSettings.with(precision: precision, weights: precision == .float32 ? nil : weights) {
                let cache = KVCache(configuration)
                var end = 0
                for chunk in Self.chunks {
                    let logits = model.extend(Array(tokens[end..<(end + chunk)]), cache: cache)
                    end += chunk
                    let onePass = model.prefill(Array(tokens[0..<end]), cache: KVCache(configuration))
                    // q8: a pass of 32 rows or more runs on dequantised weights (in bfloat16 where the CPU has
                    // bfloat16 units), a shorter one on 8-bit activations: two roundings of the activations.
                    let tolerance: Float = precision == .float32 ? 1e-4 : precision == .bfloat16 ? 0.05 : 0.15
                    let comparison = compare(logits, onePass, absolute: tolerance, relative: tolerance)
                    #expect(comparison.passed, "\(precision) after \(end) tokens: \(comparison.maximumDifference)")
                    #expect(cache.count == end)
                }
            }
        }
    }

    /// GQA (KV < H) and plain heads, chunks starting at 0 and past a cached prefix, more than one row block.
    @Test(arguments: [(4, 4, 0, 5), (4, 2, 7, 70), (6, 1, 30, 9)])
    func chunkAttentionEqualsTheNaiveLoop(heads: Int, keyValueHeads: Int, start: Int, time: Int) {
        let d = 4, layout = PackedQKV(heads: heads, keyValueHeads: keyValueHeads, headSize: d)
        var configuration = tinyGPTConfiguration(blockSize: start + time, heads: heads, width: heads * d)
        configuration.keyValueHeadCount = keyValueHeads
        let cache = KVCache(configuration)
        var generator = SeededGenerator(seed: UInt64(start + time))
        let cached = Tensor.normal([1, start, layout.width], generator: &generator)
        let chunk = Tensor.normal([1, time, layout.width], generator: &generator)
        if start > 0 { cache.store(cached, layout: layout, layer: 0, start: 0) }
        cache.store(chunk, layout: layout, layer: 0, start: start)
        let out = cache.attendChunk(chunk, layout: layout, layer: 0, start: start)

        func columns(_ rows: [Float], _ range: Range<Int>) -> [Double] {
            stride(from: 0, to: rows.count, by: layout.width).flatMap { rows[($0 + range.lowerBound)..<($0 + range.upperBound)] }
                .map(Double.init)
        }
        let all = cached.values + chunk.values, keys = layout.keyOffset(0)..<layout.valueOffset(0)
        let expected = Naive.chunkAttention(
            queries: columns(chunk.values, 0..<layout.queryWidth), keys: columns(all, keys),
            values: columns(all, layout.valueOffset(0)..<layout.width), heads: heads, keyValueHeads: keyValueHeads,
            headSize: d, start: start)
        let comparison = compare(out.values, expected.map(Float.init), absolute: 1e-5, relative: 1e-4)
        #expect(comparison.passed, "max difference \(comparison.maximumDifference)")
    }
}
