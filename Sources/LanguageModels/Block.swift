import NN
import TensorModule

// B batch, T time, C embedding size.

/// The per-position computation of a block: expand to `4C`, a non-linearity, project back, dropout
/// (nanoGPT's `MLP`, the lecture's `FeedForward`). `[B, T, C] -> [B, T, C]`.
public final class FeedForward: Module {
    public let expand: Linear, project: Linear
    public let activation: ModelConfiguration.Activation
    public let dropout: Float

    public init(_ configuration: ModelConfiguration, generator: inout SeededGenerator) {
        let c = configuration.embeddingSize
        expand = Linear(inputSize: c, outputSize: 4 * c, bias: configuration.bias, std: 0.02, generator: &generator)
        project = Linear(inputSize: 4 * c, outputSize: c, bias: configuration.bias,
                         std: 0.02 / Float(2 * configuration.layerCount).squareRoot(), generator: &generator)
        activation = configuration.activation
        dropout = configuration.dropout
    }

    public func callAsFunction(_ x: Tensor, generator: inout SeededGenerator, training: Bool = false) -> Tensor {
        // (B, T, 4C); the ReLU fused into the product
        let activated = activation == .relu ? expand(x, relu: true) : expand(x).gelu()
        let out = project(activated)  // (B, T, C)
        return training ? out.dropout(probability: dropout, generator: &generator) : out
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("c_fc", expand) + prefixed("c_proj", project)
    }
}

/// A transformer block: communication (attention) then computation (feed-forward), each on a layer-normed input
/// and added back to the residual stream. `[B, T, C] -> [B, T, C]`.
public final class Block: Module {
    public let norm1: LayerNorm, attention: CausalSelfAttention
    public let norm2: LayerNorm, feedForward: FeedForward

    public init(_ configuration: ModelConfiguration, generator: inout SeededGenerator) {
        norm1 = LayerNorm(dimension: configuration.embeddingSize, bias: configuration.bias)
        attention = CausalSelfAttention(configuration, generator: &generator)
        norm2 = LayerNorm(dimension: configuration.embeddingSize, bias: configuration.bias)
        feedForward = FeedForward(configuration, generator: &generator)
    }

    public func callAsFunction(
        _ x: Tensor, generator: inout SeededGenerator, training: Bool = false, cache: KVCache? = nil, layer: Int = 0
    ) -> Tensor {
        var x = x
        x = x + attention(norm1(x), generator: &generator, training: training, cache: cache, layer: layer)
        x = x + feedForward(norm2(x), generator: &generator, training: training)
        return x
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("ln_1", norm1) + prefixed("attn", attention) + prefixed("ln_2", norm2) + prefixed("mlp", feedForward)
    }
}
