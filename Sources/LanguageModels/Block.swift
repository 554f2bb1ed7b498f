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
        let activated = activation == .relu ? expand(x, relu: true) : activation.apply(expand(x))  // (B, T, 4C)
        let out = project(activated)  // (B, T, C)
        return training ? out.dropout(probability: dropout, generator: &generator) : out
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("c_fc", expand) + prefixed("c_proj", project)
    }
}

extension ModelConfiguration.Activation {
    /// The activation as a differentiable op on `[..., 4C]` (ReLU is also fused into the expanding product, in
    /// ``FeedForward``). Adding an activation: a case above, a line here and one in ``apply(inPlace:count:)``.
    func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: x.relu()
        case .gelu: x.geluExact()
        case .geluTanh: x.gelu()
        case .relu2: x.reluSquared()
        }
    }

    /// The activation on raw values in place (decoding one position with the KV cache).
    func apply(inPlace values: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu: reluForward(out: values, input: values, count: count)
        case .gelu: geluExactForward(out: values, input: values, count: count)
        case .geluTanh: geluForward(out: values, input: values, count: count)
        case .relu2: reluSquaredForward(out: values, input: values, count: count)
        }
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
