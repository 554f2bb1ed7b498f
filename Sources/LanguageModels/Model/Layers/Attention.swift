import Foundation
import NN
import TensorModule

// Self-attention, readable first and fast second. B batch, T time, C embedding size (channels), H heads,
// D the head size (C / H unless the configuration names its own).

/// One head of causal self-attention, as the lecture writes it.
///
/// Every position emits a query ("what am I looking for"), a key ("what do I contain") and a value ("what I will
/// tell you"). Affinities `q kᵀ / √D` (scaled by the head size, so the softmax stays diffuse at initialisation) are
/// masked to the past, turned into weights by a softmax, and the output is the weighted sum of values.
public final class Head: Module {
    public let key: Linear, query: Linear, value: Linear
    public let dropout: Float

    public init(embeddingSize: Int, headSize: Int, dropout: Float = 0, bias: Bool = false,
                generator: inout SeededGenerator) {
        key = Linear(inputSize: embeddingSize, outputSize: headSize, bias: bias, generator: &generator)
        query = Linear(inputSize: embeddingSize, outputSize: headSize, bias: bias, generator: &generator)
        value = Linear(inputSize: embeddingSize, outputSize: headSize, bias: bias, generator: &generator)
        self.dropout = dropout
    }

    /// `[B, T, C] -> [B, T, D]`.
    public func callAsFunction(_ x: Tensor, generator: inout SeededGenerator, training: Bool = false) -> Tensor {
        let k = key(x)  // (B, T, D)
        let q = query(x)  // (B, T, D)
        let headSize = Float(k.shape[2])
        var weights = q.matmul(k.transposed()).scaled(by: 1 / headSize.squareRoot())  // (B, T, T)
        weights = weights.causallyMasked().softmax()  // (B, T, T)
        if training { weights = weights.dropout(probability: dropout, generator: &generator) }
        return weights.matmul(value(x))  // (B, T, D)
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("key", key) + prefixed("query", query) + prefixed("value", value)
    }
}

/// Several heads in parallel, their outputs concatenated along channels and projected back to `C` (the lecture's
/// `MultiHeadAttention`). The readable reference for ``CausalSelfAttention``, which computes the same thing fused.
public final class MultiHeadAttention: Module {
    public let heads: [Head]
    public let projection: Linear
    public let dropout: Float

    public init(heads: [Head], projection: Linear, dropout: Float = 0) {
        self.heads = heads
        self.projection = projection
        self.dropout = dropout
    }

    /// `[B, T, C] -> [B, T, C]`.
    public func callAsFunction(_ x: Tensor, generator: inout SeededGenerator, training: Bool = false) -> Tensor {
        var outputs: [Tensor] = []
        for head in heads { outputs.append(head(x, generator: &generator, training: training)) }  // H x (B, T, D)
        let out = projection(Tensor.concatenate(outputs, axis: -1))  // (B, T, C)
        return training ? out.dropout(probability: dropout, generator: &generator) : out
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        heads.enumerated().flatMap { prefixed("heads.\($0.offset)", $0.element) } + prefixed("proj", projection)
    }
}

/// Multi-head causal self-attention with the query, key and value projections of all heads packed into one
/// `[(H + 2·KV)·D, C]` matrix (nanoGPT's `c_attn`, laid out as ``PackedQKV`` says), the attention itself one
/// fused op, and an output projection `[C, H·D]`; optionally QK-norm (with learnable per-head gains, `q_norm` and
/// `k_norm`), rotary positions on q and k, and grouped-query attention (KV < H key/value heads). The QK-norm comes
/// before the rotation (Qwen3's order; without gains, as in nanochat, the order does not matter, since a rotation
/// keeps each head's RMS). Equal to ``MultiHeadAttention`` built from ``referenceHeads()`` in the 2019 layout.
public final class CausalSelfAttention: Module {
    /// `[(H + 2·KV)·D, C]`: the queries of heads `0..<H`, then the keys, then the values.
    public let packedProjection: Linear
    public let outputProjection: Linear
    public let layout: PackedQKV
    public var headCount: Int { layout.heads }
    public let dropout: Float
    /// Angles of the rotary embedding, when the configuration asks for it.
    let rotary: RotaryTable?
    /// ε of the QK-norm, when the configuration asks for it.
    let qkNormEpsilon: Float?
    /// The QK-norm's gains `[D]` of the queries and of the keys (``ModelConfiguration/qkNormAffine``).
    public let queryNormGain: Tensor?, keyNormGain: Tensor?

    public convenience init(_ configuration: ModelConfiguration, generator: inout SeededGenerator) {
        self.init(configuration, rotary: RotaryTable(configuration), generator: &generator)
    }

    /// With `rotary`, the table of every layer (one per model: a long context's table is large), used when the
    /// configuration asks for rotary positions.
    init(_ configuration: ModelConfiguration, rotary: RotaryTable?, generator: inout SeededGenerator) {
        let c = configuration.embeddingSize
        layout = configuration.packedQKV
        packedProjection = Linear(inputSize: c, outputSize: layout.width, bias: configuration.attentionBias, std: 0.02,
                                  generator: &generator)
        outputProjection = Linear(inputSize: layout.queryWidth, outputSize: c, bias: configuration.bias,
                                  std: configuration.projectionStd, generator: &generator)
        dropout = configuration.dropout
        self.rotary = rotary
        qkNormEpsilon = configuration.qkNorm ? configuration.normEpsilon : nil
        let gains = configuration.qkNorm && configuration.qkNormAffine
        queryNormGain = gains ? Tensor.filled([layout.headSize], with: 1, requiresGrad: true) : nil
        keyNormGain = gains ? Tensor.filled([layout.headSize], with: 1, requiresGrad: true) : nil
    }

    /// `[B, T, C] -> [B, T, C]`. With a cache (batch 1), this pass's keys and values are stored at positions
    /// `context.start...` of the context's layer; a pass after the first (one token, or a chunk of a prompt)
    /// attends to all of them, causally within the chunk.
    /// With `context.batchCaches` (T = 1), row `b` is stored in and attends to its own sequence's cache.
    public func callAsFunction(_ x: Tensor, context: inout ForwardContext) -> Tensor {
        var qkv = packedProjection(x)  // (B, T, (H + 2KV)·D)
        let rotated = layout.heads + layout.keyValueHeads  // q and k: the leading heads of each row
        if let qkNormEpsilon {
            let gains = queryNormGain.map { HeadGains(query: $0, key: keyNormGain!, queryHeads: layout.heads) }
            qkv = qkv.normalizingHeads(rotated, headSize: layout.headSize, epsilon: qkNormEpsilon, gains: gains)
        }
        if let rotary {
            qkv = qkv.rotatingHeads(rotated, headSize: layout.headSize, cosine: rotary.cosine, sine: rotary.sine,
                                    start: context.start, rowPositions: context.rowPositions)
        }
        let y: Tensor  // (B, T, H·D)
        if !context.batchCaches.isEmpty {  // B sequences, one new token each, each against its own cache
            y = KVCache.storeAndAttend(qkv, caches: context.batchCaches, layout: layout, layer: context.layer)
        } else if let cache = context.cache {
            cache.store(qkv, layout: layout, layer: context.layer, start: context.start)
            let time = qkv.shape[1]
            if context.start == 0 {
                y = attend(qkv, context: &context)  // a first pass: its own positions only
            } else if time == 1 {
                y = cache.attend(qkv, layout: layout, layer: context.layer, length: context.start + 1)
            } else {  // a chunk after the cached positions
                y = cache.attendChunk(qkv, layout: layout, layer: context.layer, start: context.start)
            }
        } else {
            y = attend(qkv, context: &context)
        }
        if let observer = context.attentionObserver { observer(context.layer, attentionMaps(qkv)) }
        return context.dropout(outputProjection(y), probability: dropout)
    }

    /// Causal attention over this pass's own positions.
    func attend(_ qkv: Tensor, context: inout ForwardContext) -> Tensor {
        qkv.causalSelfAttention(layout, dropout: context.training ? dropout : 0, generator: &context.generator)
    }

    /// Every head's attention weights `[T, T]` for batch 1, computed the readable way from the (rotated,
    /// normalised) queries and keys: `softmax(mask(q kᵀ / √D))`.
    func attentionMaps(_ qkv: Tensor) -> [[Float]] {
        withoutGradient {
            let d = layout.headSize
            return (0..<layout.heads).map { h in
                let q = qkv.sliced(layout.queryOffset(h)..<(layout.queryOffset(h) + d))  // (1, T, D)
                let g = layout.keyValueHead(forQuery: h)
                let k = qkv.sliced(layout.keyOffset(g)..<(layout.keyOffset(g) + d))  // (1, T, D)
                let scores = q.matmul(k.transposed()).scaled(by: 1 / Float(d).squareRoot())  // (1, T, T)
                return scores.causallyMasked().softmax().values
            }
        }
    }

    /// The same weights as separate ``Head``s with a projection: the readable reference.
    public func referenceHeads() -> MultiHeadAttention {
        let c = packedProjection.weight.shape[1], d = layout.headSize
        precondition(layout.keyValueHeads == layout.heads && rotary == nil && qkNormEpsilon == nil && layout.queryWidth == c,
                     "the 2019 layout only")
        let w = packedProjection.weight.detached(), b = packedProjection.bias?.detached()
        var generator = SeededGenerator(seed: 0)
        let heads = (0..<headCount).map { h -> Head in
            let head = Head(embeddingSize: c, headSize: d, dropout: dropout, bias: b != nil, generator: &generator)
            for (part, linear) in [head.query, head.key, head.value].enumerated() {
                let firstRow = [layout.queryOffset(h), layout.keyOffset(h), layout.valueOffset(h)][part]
                linear.weight.storage.pointer.update(from: w.storage.pointer + firstRow * c, count: d * c)
                if let b { linear.bias!.storage.pointer.update(from: b.storage.pointer + firstRow, count: d) }
            }
            return head
        }
        let projection = Linear(inputSize: c, outputSize: c, bias: outputProjection.bias != nil, generator: &generator)
        projection.weight.storage.pointer.update(from: outputProjection.weight.storage.pointer, count: c * c)
        if let bias = outputProjection.bias { projection.bias!.storage.pointer.update(from: bias.storage.pointer, count: c) }
        return MultiHeadAttention(heads: heads, projection: projection, dropout: dropout)
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var named = prefixed("c_attn", packedProjection) + prefixed("c_proj", outputProjection)
        if let queryNormGain, let keyNormGain { named += [("q_norm.weight", queryNormGain), ("k_norm.weight", keyNormGain)] }
        return named
    }
}
