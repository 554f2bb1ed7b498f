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
        let time = qkv.shape[1]
        precondition(start + time <= capacity, "the cache is full; prefill the cropped context instead")
        for t in 0..<time { storeRow(qkv.storage.pointer + t * layout.width, layout: layout, layer: layer, position: start + t) }
    }

    /// Copies one packed row `[(H + 2KV)·D]`'s key and value into `position` of `layer`.
    private func storeRow(_ row: UnsafePointer<Float>, layout: PackedQKV, layer: Int, position: Int) {
        (keys[layer].pointer + position * width).update(from: row + layout.keyOffset(0), count: width)
        (values[layer].pointer + position * width).update(from: row + layout.valueOffset(0), count: width)
    }

    /// One query row `[1, 1, (H + 2KV)·D]` attending to the first `length` cached positions of `layer`:
    /// `[1, 1, H·D]`, without autodiff (decoding).
    func attend(_ qkv: Tensor, layout: PackedQKV, layer: Int, length: Int) -> Tensor {
        precondition(qkv.count == layout.width, "a cached pass after the first takes one token")
        let out = TensorStorage(zeros: layout.queryWidth)
        attendRow(qkv.storage.pointer, layout: layout, layer: layer, length: length, out: out.pointer)
        return Tensor(shape: [1, 1, layout.queryWidth], storage: out)
    }

    /// The query heads of one packed row `[(H + 2KV)·D]` attending to the first `length` positions of `layer`,
    /// written to `out` `[H·D]`.
    private func attendRow(_ row: UnsafePointer<Float>, layout: PackedQKV, layer: Int, length: Int,
                           out: UnsafeMutablePointer<Float>) {
        let d = layout.headSize
        let scores = TensorStorage(zeros: layout.heads * length)
        let k = UnsafePointer(keys[layer].pointer), v = UnsafePointer(values[layer].pointer)
        if layout.groupSize == 1 {
            attendOneQuery(row, keys: k, values: v, length: length, heads: layout.heads, headSize: d, width: width,
                           scores: scores.pointer, out: out)
        } else {
            for h in 0..<layout.heads {
                let g = layout.keyValueHead(forQuery: h) * d
                attendOneQuery(row + h * d, keys: k + g, values: v + g, length: length, heads: 1, headSize: d,
                               width: width, scores: scores.pointer + h * length, out: out + h * d)
            }
        }
    }

    /// A batched decoding step's attention: row `b` of `qkv` `[B, 1, (H + 2KV)·D]` is the new token of the sequence
    /// of `caches[b]`, at position `caches[b].count`; its key and value are stored there and its queries attend to
    /// that sequence's positions `0...count`. Returns `[B, 1, H·D]`, without autodiff.
    static func storeAndAttend(_ qkv: Tensor, caches: [KVCache], layout: PackedQKV, layer: Int) -> Tensor {
        precondition(qkv.count == caches.count * layout.width, "a batched step takes one token per sequence")
        let out = TensorStorage(zeros: caches.count * layout.queryWidth)
        for (b, cache) in caches.enumerated() {
            precondition(cache.count < cache.capacity, "the cache is full; prefill the cropped context instead")
            cache.storeRow(qkv.storage.pointer + b * layout.width, layout: layout, layer: layer, position: cache.count)
        }
        // One parallel loop over the sequences, each attending on one thread (a loop per sequence over its heads
        // cost a wake-up and a wait per sequence and layer).
        var serial = KernelSettings.current
        serial.threads = 1
        let rows = SendablePointer(qkv.storage.pointer), outs = SendablePointer(out.pointer)
        parallelFor(caches.count) { range in
            KernelSettings.with(serial) {
                for b in range {
                    caches[b].attendRow(rows.base + b * layout.width, layout: layout, layer: layer,
                                        length: caches[b].count + 1, out: outs.base + b * layout.queryWidth)
                }
            }
        }
        return Tensor(shape: [caches.count, 1, layout.queryWidth], storage: out)
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

    /// One batched decoding step: `tokens[b]` extends the sequence of `caches[b]` at position `caches[b].count`
    /// (each sequence at its own position, with its own cache), all in one forward pass, so that every weight is
    /// read once for the B new rows (matrix-matrix products) instead of once per sequence. Returns each sequence's
    /// next-token logits (`B x [V]`) and grows each cache by one. Equal, row for row, to ``decode(_:cache:)`` of
    /// each sequence alone: up to ``fewRowsLimit`` sequences exactly in fp32 (each row's products sum as that row's
    /// alone), beyond that up to the matrix kernel's summation order.
    public func decode(_ tokens: [Int], caches: [KVCache]) -> [[Float]] {
        precondition(tokens.count == caches.count, "one token per sequence")
        precondition(Set(caches.map(ObjectIdentifier.init)).count == caches.count, "one row per cache")
        guard !tokens.isEmpty else { return [] }
        if tokens.count == 1 { return [decode(tokens[0], cache: caches[0])] }
        return withoutGradient {
            var context = ForwardContext(batchCaches: caches)
            let logits = forward(tokens, batchSize: tokens.count, targets: nil, context: &context).logits  // (B, 1, V)
            let v = configuration.vocabSize
            return (0..<tokens.count).map { Array(UnsafeBufferPointer(start: logits.storage.pointer + $0 * v, count: v)) }
        }
    }

    func lastLogits(_ logits: Tensor) -> [Float] {
        let v = configuration.vocabSize
        return Array(UnsafeBufferPointer(start: logits.storage.pointer + (logits.count - v), count: v))
    }
}
