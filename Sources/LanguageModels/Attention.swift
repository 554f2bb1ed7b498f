import NN
import TensorModule

// Self-attention, readable first and fast second. B batch, T time, C embedding size (channels), H heads,
// D = C / H the head size.

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

/// Multi-head causal self-attention with the key, query and value projections of all heads packed into one
/// `[3C, C]` matrix (nanoGPT's `c_attn`) and the attention itself one fused op. Equal to ``MultiHeadAttention``
/// built from ``referenceHeads(generator:)``.
public final class CausalSelfAttention: Module {
    /// `[3C, C]`: rows `0..<C` are the queries of heads `0..<H`, then the keys, then the values.
    public let packedProjection: Linear
    public let outputProjection: Linear
    public let headCount: Int
    public let dropout: Float

    public init(_ configuration: ModelConfiguration, generator: inout SeededGenerator) {
        let c = configuration.embeddingSize
        packedProjection = Linear(inputSize: c, outputSize: 3 * c, bias: configuration.attentionBias, std: 0.02,
                                  generator: &generator)
        outputProjection = Linear(inputSize: c, outputSize: c, bias: configuration.bias,
                                  std: 0.02 / Float(2 * configuration.layerCount).squareRoot(), generator: &generator)
        headCount = configuration.headCount
        dropout = configuration.dropout
    }

    /// `[B, T, C] -> [B, T, C]`. With a `cache` (batch 1, sampling), the keys and values of every position are also
    /// stored in it for `layer`, so later tokens can attend to them without recomputing them.
    public func callAsFunction(
        _ x: Tensor, generator: inout SeededGenerator, training: Bool = false, cache: KVCache? = nil, layer: Int = 0
    ) -> Tensor {
        let qkv = packedProjection(x)  // (B, T, 3C)
        cache?.store(packedProjections: qkv, layer: layer)
        let y = qkv.causalSelfAttention(heads: headCount, dropout: training ? dropout : 0, generator: &generator)
        let out = outputProjection(y)  // (B, T, C)
        return training ? out.dropout(probability: dropout, generator: &generator) : out
    }

    /// The same weights as separate ``Head``s with a projection: the readable reference.
    public func referenceHeads() -> MultiHeadAttention {
        let c = packedProjection.weight.shape[1], d = c / headCount
        let w = packedProjection.weight.detached(), b = packedProjection.bias?.detached()
        var generator = SeededGenerator(seed: 0)
        let heads = (0..<headCount).map { h -> Head in
            let head = Head(embeddingSize: c, headSize: d, dropout: dropout, bias: b != nil, generator: &generator)
            for (part, linear) in [head.query, head.key, head.value].enumerated() {
                let firstRow = part * c + h * d
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
        prefixed("c_attn", packedProjection) + prefixed("c_proj", outputProjection)
    }
}
