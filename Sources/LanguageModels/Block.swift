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
                         std: configuration.projectionStd, generator: &generator)
        activation = configuration.activation
        dropout = configuration.dropout
    }

    public func callAsFunction(_ x: Tensor, context: inout ForwardContext) -> Tensor {
        let activated = activation == .relu ? expand(x, relu: true) : activation.apply(expand(x))  // (B, T, 4C)
        let out = project(activated)  // (B, T, C)
        return context.dropout(out, probability: dropout)
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("c_fc", expand) + prefixed("c_proj", project)
    }
}

extension ModelConfiguration.Activation {
    /// The activation as a differentiable op on `[..., 4C]` (ReLU is also fused into the expanding product, in
    /// ``FeedForward``). Adding an activation: a case above and a line here.
    func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: x.relu()
        case .gelu: x.gelu()
        case .geluTanh: x.geluTanh()
        case .relu2: x.reluSquared()
        }
    }
}

/// The norm a configuration names (``ModelConfiguration/norm``): a layer norm (PyTorch's `nn.LayerNorm`) or an
/// RMSNorm (`F.rms_norm`), with a learnable gain when ``ModelConfiguration/normAffine`` (and a shift for a layer
/// norm with ``ModelConfiguration/bias``), and ``ModelConfiguration/normEpsilon``. `[..., C] -> [..., C]`.
/// Adding a norm: a case in ``ModelConfiguration/Norm`` and a line in ``callAsFunction(_:)``.
public final class Normalization: Module {
    public let kind: ModelConfiguration.Norm
    public let weight: Tensor?, bias: Tensor?
    public let epsilon: Float
    /// Ones: the gain of a layer norm without parameters.
    private let unit: Tensor

    public init(_ configuration: ModelConfiguration) {
        let c = configuration.embeddingSize
        kind = configuration.norm
        epsilon = configuration.normEpsilon
        weight = configuration.normAffine ? Tensor.filled([c], with: 1, requiresGrad: true) : nil
        bias = configuration.normAffine && kind == .layerNorm && configuration.bias ? Tensor.zeros([c], requiresGrad: true) : nil
        unit = Tensor.filled([weight == nil ? c : 0], with: 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch kind {
        case .layerNorm: x.layerNorm(weight: weight ?? unit, bias: bias, epsilon: epsilon)
        case .rmsNorm: x.rmsNorm(weight: weight, epsilon: epsilon)
        }
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        (weight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }
}

/// A transformer block: communication (attention) then computation (feed-forward), each on a normed input and
/// added back to the residual stream. `[B, T, C] -> [B, T, C]`.
public final class Block: Module {
    public let norm1: Normalization, attention: CausalSelfAttention
    public let norm2: Normalization, feedForward: FeedForward

    public init(_ configuration: ModelConfiguration, generator: inout SeededGenerator) {
        norm1 = Normalization(configuration)
        attention = CausalSelfAttention(configuration, generator: &generator)
        norm2 = Normalization(configuration)
        feedForward = FeedForward(configuration, generator: &generator)
    }

    public func callAsFunction(_ x: Tensor, context: inout ForwardContext) -> Tensor {
        var x = x
        x = x + attention(norm1(x), context: &context)
        x = x + feedForward(norm2(x), context: &context)
        return x
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("ln_1", norm1) + prefixed("attn", attention) + prefixed("ln_2", norm2) + prefixed("mlp", feedForward)
    }
}
