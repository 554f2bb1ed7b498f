import NN
import TensorModule

/// The keys and values of every layer for the tokens seen so far, so that sampling one more token costs one row
/// of work per layer instead of a forward pass over the whole context.
///
/// Shapes: per layer, keys and values are `[blockSize, C]` (C the embedding size; head `h` owns channels
/// `h*D..<(h+1)*D`). Holds one sequence (batch 1).
public final class KVCache {
    public let layerCount: Int, capacity: Int, width: Int
    let keys: [TensorStorage], values: [TensorStorage]
    /// Positions filled so far.
    public internal(set) var count = 0

    public init(_ configuration: ModelConfiguration) {
        layerCount = configuration.layerCount
        capacity = configuration.blockSize
        width = configuration.embeddingSize
        keys = (0..<layerCount).map { _ in TensorStorage(zeros: configuration.blockSize * configuration.embeddingSize) }
        values = (0..<layerCount).map { _ in TensorStorage(zeros: configuration.blockSize * configuration.embeddingSize) }
    }

    /// Forgets every position.
    public func reset() { count = 0 }

    /// Copies the keys and values out of packed projections `[1, T, 3C]` into positions `0..<T` of `layer`.
    func store(packedProjections qkv: Tensor, layer: Int) {
        let time = qkv.shape[1], c = width
        for t in 0..<time {
            let row = qkv.storage.pointer + t * 3 * c
            (keys[layer].pointer + t * c).update(from: row + c, count: c)
            (values[layer].pointer + t * c).update(from: row + 2 * c, count: c)
        }
    }
}

extension GPTLanguageModel {
    /// Fills `cache` with the context `tokens` (at most `blockSize`) in one batched pass and returns the logits of
    /// the last position (`[V]`).
    public func prefill(_ tokens: [Int], cache: KVCache) -> [Float] {
        withoutGradient {
            let logits = forward(tokens, batchSize: 1, targets: nil, training: false, cache: cache).logits
            let v = configuration.vocabSize
            return Array(UnsafeBufferPointer(start: logits.storage.pointer + (logits.count - v), count: v))
        }
    }

    /// Appends one token at position `cache.count` and returns the next-token logits (`[V]`): the incremental
    /// forward, with one query attending to every cached key. Requires `cache.count < blockSize`.
    ///
    /// With `weights` (a bfloat16 copy of this model's matrices, ``BFloat16Weights``) the products stream half the
    /// bytes; the logits then differ from the fp32 ones by bfloat16 rounding (about 3 significant digits).
    public func decode(_ token: Int, cache: KVCache, weights: BFloat16Weights? = nil) -> [Float] {
        let c = configuration.embeddingSize, heads = configuration.headCount, d = configuration.headSize
        let position = cache.count
        precondition(position < configuration.blockSize, "the cache is full; prefill the cropped context instead")
        let x = TensorStorage(zeros: c), normed = TensorStorage(zeros: c), qkv = TensorStorage(zeros: 3 * c)
        let attended = TensorStorage(zeros: c), hidden = TensorStorage(zeros: 4 * c)
        let mean = TensorStorage(zeros: 1), rstd = TensorStorage(zeros: 1)
        let scores = TensorStorage(zeros: heads * (position + 1))
        let token = tokenEmbeddingTable.weight.storage.pointer + token * c
        let place = positionEmbeddingTable.weight.storage.pointer + position * c
        for i in 0..<c { x.pointer[i] = token[i] + place[i] }

        func norm(_ layer: LayerNorm, _ input: TensorStorage) {
            layerNormForward(out: normed.pointer, mean: mean.pointer, rstd: rstd.pointer, input: input.pointer,
                             weight: layer.weight.storage.pointer, bias: layer.bias?.storage.pointer, rows: 1,
                             columns: c, epsilon: 1e-5)
        }
        /// `out (= or +=) W input` for a `[out, in]` weight, reading `half` instead of the fp32 weight if given.
        func multiply(_ weight: Tensor, _ half: BFloat16Matrix?, _ input: UnsafePointer<Float>,
                      into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
            if let half {
                matrixVectorProduct(out: out, weight: half, input: input, accumulate: accumulate)
            } else {
                matrixVectorProduct(out: out, weight: weight.storage.pointer, input: input, rows: weight.shape[0],
                                    columns: weight.shape[1], accumulate: accumulate)
            }
        }
        /// `out (= or +=) W input + b` for a linear layer.
        func project(_ linear: Linear, _ half: BFloat16Matrix?, _ input: TensorStorage, into out: TensorStorage,
                     accumulate: Bool) {
            if let bias = linear.bias {
                for o in 0..<bias.count { out.pointer[o] = (accumulate ? out.pointer[o] : 0) + bias.storage.pointer[o] }
            }
            multiply(linear.weight, half, input.pointer, into: out.pointer,
                     accumulate: accumulate || linear.bias != nil)
        }

        for (layer, block) in blocks.enumerated() {
            let half = weights?.blocks[layer]
            norm(block.norm1, x)
            project(block.attention.packedProjection, half?.packedProjection, normed, into: qkv, accumulate: false)
            let keys = cache.keys[layer].pointer, values = cache.values[layer].pointer
            (keys + position * c).update(from: qkv.pointer + c, count: c)
            (values + position * c).update(from: qkv.pointer + 2 * c, count: c)
            attendOneQuery(qkv.pointer, keys: keys, values: values, length: position + 1, heads: heads, headSize: d,
                           width: c, scores: scores.pointer, out: attended.pointer)
            project(block.attention.outputProjection, half?.outputProjection, attended, into: x, accumulate: true)
            norm(block.norm2, x)
            project(block.feedForward.expand, half?.expand, normed, into: hidden, accumulate: false)
            block.feedForward.activation.apply(inPlace: hidden.pointer, count: 4 * c)
            project(block.feedForward.project, half?.project, hidden, into: x, accumulate: true)
        }
        cache.count = position + 1
        norm(finalNorm, x)
        let v = configuration.vocabSize
        var logits = [Float](repeating: 0, count: v)
        logits.withUnsafeMutableBufferPointer { out in
            if let bias = lmHeadBias { out.baseAddress!.update(from: bias.storage.pointer, count: v) }
            multiply(lmHead?.weight ?? tokenEmbeddingTable.weight, weights?.head, normed.pointer,
                     into: out.baseAddress!, accumulate: lmHeadBias != nil)
        }
        return logits
    }
}
