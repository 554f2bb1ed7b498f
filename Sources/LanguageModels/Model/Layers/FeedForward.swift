import NN
import TensorModule

// B batch, T time, C embedding size, F the hidden width (``ModelConfiguration/feedForwardWidth``, 4C by default).

/// The per-position computation of a block: expand to `F`, a non-linearity, project back, dropout (nanoGPT's `MLP`,
/// the lecture's `FeedForward`), or gated: `c_proj(act(c_fc(x)) ⊙ c_up(x))` (``ModelConfiguration/gatedFeedForward``;
/// SwiGLU with SiLU, Llama's `down_proj(act_fn(gate_proj(x)) * up_proj(x))`: `c_fc` is the gate, `c_up` the up
/// projection, `c_proj` the down projection). `[B, T, C] -> [B, T, C]`.
public final class FeedForward: Module {
    public let expand: Linear, project: Linear
    /// The gated form's second projection `[F, C]` (`c_up`), multiplied into the activated gate; `nil` ungated.
    public let up: Linear?
    public let activation: ModelConfiguration.Activation
    public let dropout: Float

    public init(_ configuration: ModelConfiguration, generator: inout SeededGenerator) {
        let c = configuration.embeddingSize, f = configuration.feedForwardWidth
        expand = Linear(inputSize: c, outputSize: f, bias: configuration.bias, std: 0.02, generator: &generator)
        up = configuration.gatedFeedForward
            ? Linear(inputSize: c, outputSize: f, bias: configuration.bias, std: 0.02, generator: &generator) : nil
        project = Linear(inputSize: f, outputSize: c, bias: configuration.bias,
                         std: configuration.projectionStd, generator: &generator)
        activation = configuration.activation
        dropout = configuration.dropout
    }

    public func callAsFunction(_ x: Tensor, context: inout ForwardContext) -> Tensor {
        let activated: Tensor  // (B, T, F)
        if let up {
            let gate = expand(x)
            activated = activation == .silu ? gate.siluGated(by: up(x)) : activation.apply(gate) * up(x)
        } else {
            activated = activation == .relu ? expand(x, relu: true) : activation.apply(expand(x))
        }
        let out = project(activated)  // (B, T, C)
        return context.dropout(out, probability: dropout)
    }

    /// The weight matrices in the order the forward pass reads them.
    var matrices: [Tensor] { [expand.weight] + (up.map { [$0.weight] } ?? []) + [project.weight] }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("c_fc", expand) + (up.map { prefixed("c_up", $0) } ?? []) + prefixed("c_proj", project)
    }
}

extension ModelConfiguration.Activation {
    /// The activation as a differentiable op on `[..., F]` (ReLU is also fused into the expanding product, and SiLU
    /// into the gate's product with `c_up`, in ``FeedForward``). Adding an activation: a case above and a line here.
    func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: x.relu()
        case .gelu: x.gelu()
        case .geluTanh: x.geluTanh()
        case .relu2: x.reluSquared()
        case .silu: x.silu()
        }
    }
}
