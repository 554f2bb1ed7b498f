import NN
import TensorModule

/// The keys and values of every layer for the tokens seen so far, so that sampling one more token costs one row
/// of work per layer instead of a forward pass over the whole context.
///
/// Shapes: per layer, keys and values are `[capacity, KV·D]` (KV key/value heads of D channels, head `g` owning
/// channels `g·D..<(g+1)·D`; KV = H without grouped-query attention), stored after the rotary embedding and the
/// QK-norm. Holds one sequence (batch 1). The capacity is at most the block size, and no more than a generation
/// needs, so a model whose context is long (a rotary model's `block_size` can be large without any weight depending on
/// it) does not reserve memory for positions it will not reach.
public final class KVCache {
    public let layerCount: Int, capacity: Int, width: Int
    let keys: [TensorStorage], values: [TensorStorage]
    /// Positions filled so far.
    public internal(set) var count = 0

    /// A cache for up to `positions` tokens (`nil`: the block size), never more than the block size.
    public init(_ configuration: ModelConfiguration, positions: Int? = nil) {
        layerCount = configuration.layerCount
        capacity = min(configuration.blockSize, max(1, positions ?? configuration.blockSize))
        width = configuration.packedQKV.keyValueWidth
        keys = (0..<layerCount).map { [capacity, width] _ in TensorStorage(zeros: capacity * width) }
        values = (0..<layerCount).map { [capacity, width] _ in TensorStorage(zeros: capacity * width) }
    }

    /// Forgets every position.
    public func reset() { count = 0 }

    /// Copies the keys and values out of packed projections `[1, T, (H + 2KV)·D]` into positions
    /// `start..<start+T` of `layer`.
    func store(_ qkv: Tensor, layout: PackedQKV, layer: Int, start: Int) {
        let time = qkv.shape[1], row = layout.width
        precondition(start + time <= capacity, "the cache is full; prefill the cropped context instead")
        for t in 0..<time {
            let source = qkv.storage.pointer + t * row
            (keys[layer].pointer + (start + t) * width).update(from: source + layout.keyOffset(0), count: width)
            (values[layer].pointer + (start + t) * width).update(from: source + layout.valueOffset(0), count: width)
        }
    }

    /// One query row `[1, 1, (H + 2KV)·D]` attending to the first `length` cached positions of `layer`:
    /// `[1, 1, H·D]`, without autodiff (decoding).
    func attend(_ qkv: Tensor, layout: PackedQKV, layer: Int, length: Int) -> Tensor {
        precondition(qkv.count == layout.width, "a cached pass after the first takes one token")
        let d = layout.headSize
        let out = TensorStorage(zeros: layout.queryWidth), scores = TensorStorage(zeros: layout.heads * length)
        let query = UnsafePointer(qkv.storage.pointer), k = UnsafePointer(keys[layer].pointer)
        let v = UnsafePointer(values[layer].pointer)
        if layout.groupSize == 1 {
            attendOneQuery(query, keys: k, values: v, length: length, heads: layout.heads, headSize: d, width: width,
                           scores: scores.pointer, out: out.pointer)
        } else {
            for h in 0..<layout.heads {
                let g = layout.keyValueHead(forQuery: h) * d
                attendOneQuery(query + h * d, keys: k + g, values: v + g, length: length, heads: 1, headSize: d,
                               width: width, scores: scores.pointer + h * length, out: out.pointer + h * d)
            }
        }
        return Tensor(shape: [1, 1, layout.queryWidth], storage: out)
    }
}

extension GPTLanguageModel {
    /// Fills `cache` with the context `tokens` (at most `blockSize`) in one batched pass and returns the logits of
    /// the last position (`[V]`).
    public func prefill(_ tokens: [Int], cache: KVCache) -> [Float] {
        cache.reset()
        return withoutGradient {
            var context = ForwardContext(cache: cache)
            return lastLogits(forward(tokens, batchSize: 1, targets: nil, context: &context).logits)
        }
    }

    /// Appends one token at position `cache.count` and returns the next-token logits (`[V]`): the same blocks as
    /// every other pass, with one query attending to every cached key; its products are one row each, so they run
    /// the matrix-vector kernels. Requires `cache.count < blockSize`.
    ///
    /// Inside ``KernelSettings/with(precision:weights:_:)`` with ``MatrixPrecision/bfloat16`` and
    /// `RoundedWeights(model.matrices)`, the products stream half the bytes; the logits then differ from the fp32
    /// ones by bfloat16 rounding (about 3 significant digits).
    public func decode(_ token: Int, cache: KVCache) -> [Float] {
        precondition(cache.count < configuration.blockSize, "the cache is full; prefill the cropped context instead")
        return withoutGradient {
            var context = ForwardContext(cache: cache)
            return lastLogits(forward([token], batchSize: 1, targets: nil, context: &context).logits)
        }
    }

    func lastLogits(_ logits: Tensor) -> [Float] {
        let v = configuration.vocabSize
        return Array(UnsafeBufferPointer(start: logits.storage.pointer + (logits.count - v), count: v))
    }
}
