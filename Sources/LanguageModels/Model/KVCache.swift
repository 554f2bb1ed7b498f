import NN
import TensorModule

/// The keys and values of every layer for the tokens seen so far, so that sampling one more token costs one row
/// of work per layer instead of a forward pass over the whole context.
///
/// Shapes: per layer, keys and values are `[capacity, KV·D]` (KV key/value heads of D channels, head `g` owning
/// channels `g·D..<(g+1)·D`; KV = H without grouped-query attention), stored after the rotary embedding and the
/// QK-norm. Holds one sequence (batch 1). The capacity is at most the block size, and no more than a generation
/// needs, so a model whose context is long (a rotary model's `block_size` can be large without any weight depending on
/// it) does not reserve memory for positions it will not reach. Keys and values are kept in `precision`
/// (``KVCachePrecision``): fp32, or half precision for half the bytes per token read.
public final class KVCache {
    public let layerCount: Int, capacity: Int, width: Int
    public let precision: KVCachePrecision
    let keys: [KVRows], values: [KVRows]
    /// Positions filled so far.
    public internal(set) var count = 0

    /// A cache for up to `positions` tokens (`nil`: the block size), never more than the block size.
    public init(_ configuration: ModelConfiguration, positions: Int? = nil, precision: KVCachePrecision = .float32) {
        layerCount = configuration.layerCount
        capacity = min(configuration.blockSize, max(1, positions ?? configuration.blockSize))
        width = configuration.packedQKV.keyValueWidth
        self.precision = precision
        keys = (0..<layerCount).map { [capacity, width] _ in KVRows(count: capacity * width, precision: precision) }
        values = (0..<layerCount).map { [capacity, width] _ in KVRows(count: capacity * width, precision: precision) }
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
        keys[layer].store(row + layout.keyOffset(0), at: position * width, count: width)
        values[layer].store(row + layout.valueOffset(0), at: position * width, count: width)
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
        let scores = TensorStorage(zeros: layout.heads * length), group = layout.groupSize
        // Every query head at once; a group's heads share their key/value head's columns (the kernel reads them
        // once per group).
        switch precision {
        case .float32:
            attendOneQuery(row, keys: keys[layer].floats, values: values[layer].floats, length: length,
                           heads: layout.heads, headSize: d, width: width, scores: scores.pointer, out: out,
                           group: group)
        case .float16:
            attendOneQuery(row, halfKeys: keys[layer].halves, values: values[layer].halves, length: length,
                           heads: layout.heads, headSize: d, width: width, scores: scores.pointer, out: out,
                           group: group)
        }
    }

    /// A chunk's attention: the query rows of `qkv` `[1, T, (H + 2KV)·D]`, at positions `start..<start+T` (their keys
    /// and values already stored), attend causally to positions `0..<start+T` of `layer`. Per head, in blocks of
    /// ``chunkRowBlock`` query rows, it is three matrix steps, as the fused op does over a pass's own positions:
    /// `S = Q Kᵀ / √D` (`[rows, start+last]`), the causal softmax of each row over its positions `0...start+i`, and
    /// `Y = P V` (`[rows, D]`). A half-precision cache's positions are widened to fp32 first, once per call.
    /// Returns `[1, T, H·D]`, without autodiff.
    func attendChunk(_ qkv: Tensor, layout: PackedQKV, layer: Int, start: Int) -> Tensor {
        let time = qkv.shape[1], length = start + time, d = layout.headSize
        precondition(qkv.count == time * layout.width, "one sequence: [1, T, (H + 2KV)·D]")
        let out = TensorStorage(uninitialized: time * layout.queryWidth)
        let q = SendablePointer(qkv.storage.pointer), o = SendablePointer(out.pointer)
        let width = self.width
        var widened: [TensorStorage] = []  // a half-precision cache's positions 0..<length as fp32
        func floats(_ rows: KVRows) -> UnsafeMutablePointer<Float> {
            guard rows.precision == .float16 else { return rows.floats }
            let copy = TensorStorage(uninitialized: length * width)
            HalfPrecision.widen(rows.halves, into: copy.pointer, count: length * width)
            widened.append(copy)
            return copy.pointer
        }
        let k = SendablePointer(floats(keys[layer])), v = SendablePointer(floats(values[layer]))
        defer { withExtendedLifetime(widened) {} }
        let rowBlock = Self.chunkRowBlock, scale = 1 / Float(d).squareRoot()
        parallelFor(layout.heads) { heads in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * length)  // (rows, start + T)
            let logSumExp = UnsafeMutablePointer<Float>.allocate(capacity: length)
            defer {
                scores.deallocate()
                logSumExp.deallocate()
            }
            for h in heads {
                let g = layout.keyValueHead(forQuery: h) * d
                for first in stride(from: 0, to: time, by: rowBlock) {
                    let last = min(time, first + rowBlock), seen = start + last  // rows attend to keys 0..<seen
                    serialGEMM(  // S = Q Kᵀ / √D   (rows, seen)
                        transposeA: false, transposeB: true, m: last - first, n: seen, k: d, alpha: scale,
                        a: q.base + first * layout.width + layout.queryOffset(h), lda: layout.width, b: k.base + g,
                        ldb: width, beta: 0, c: scores, ldc: length)
                    causalSoftmaxRows(scores, stride: length, rows: (start + first)..<seen, logSumExp: logSumExp,
                                      recompute: false)
                    serialGEMM(  // Y = P V   (rows, D)
                        transposeA: false, transposeB: false, m: last - first, n: d, k: seen, alpha: 1, a: scores,
                        lda: length, b: v.base + g, ldb: width, beta: 0,
                        c: o.base + first * layout.queryWidth + h * d, ldc: layout.queryWidth)
                }
            }
        }
        return Tensor(shape: [1, time, layout.queryWidth], storage: out)
    }

    /// Query rows of a chunk multiplied together: each block's scores stop at its last row's position, so little
    /// work above the diagonal is done, and a block's scores (`64 x (start + T)` floats) stay small.
    static let chunkRowBlock = 64

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
        // cost a wake-up and a wait per sequence and layer). The threads claim the sequences longest first, so
        // sequences of different lengths (a new request beside a long chat) share the cores evenly.
        var serial = KernelSettings.current
        serial.threads = 1
        let rows = SendablePointer(qkv.storage.pointer), outs = SendablePointer(out.pointer)
        let order = caches.indices.sorted { caches[$0].count > caches[$1].count }
        parallelForClaiming(caches.count, threads: kernelThreadCount) { claimed in
            let b = order[claimed]
            KernelSettings.with(serial) {
                caches[b].attendRow(rows.base + b * layout.width, layout: layout, layer: layer,
                                    length: caches[b].count + 1, out: outs.base + b * layout.queryWidth)
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
        return extend(tokens, cache: cache)
    }

    /// Appends `tokens` (T of them) at positions `cache.count..<cache.count+T` in one pass and returns the last
    /// one's next-token logits (`[V]`): chunked prefill. Every product runs over the T rows as matrices, and the T
    /// new queries attend to the cached positions and causally to each other as matrix products per head
    /// (``KVCache``'s chunk attention), so a prompt prefilled in chunks costs about what one pass costs, and its
    /// logits equal the one pass's up to summation order. Requires `cache.count + T <= blockSize` (and the cache's
    /// capacity). One token is ``decode(_:cache:)``.
    public func extend(_ tokens: [Int], cache: KVCache) -> [Float] {
        precondition(!tokens.isEmpty, "extend by at least one token")
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
        return extend([token], cache: cache)
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
