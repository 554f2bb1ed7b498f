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
