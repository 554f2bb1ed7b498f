import NN
import TensorModule

// B batch, T time, C embedding size.

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
