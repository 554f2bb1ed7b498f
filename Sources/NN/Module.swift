import TensorModule

/// A layer or model: something that owns named parameters.
///
/// Parameter names are the checkpoint keys (PyTorch state-dict names such as `transformer.h.0.ln_1.weight`),
/// while the Swift properties that hold them follow the Swift API Design Guidelines.
public protocol Module: AnyObject {
    /// Every trainable tensor with its state-dict name, in a stable order.
    func namedParameters() -> [(name: String, tensor: Tensor)]
}

extension Module {
    /// The trainable tensors, in ``namedParameters()`` order.
    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// The number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Clears every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func clearGradients() { for p in parameters { p.clearGradient() } }

    /// The parameters of `child`, each name prefixed with `prefix` and a dot.
    public func prefixed(_ prefix: String, _ child: Module) -> [(name: String, tensor: Tensor)] {
        child.namedParameters().map { (name: "\(prefix).\($0.name)", tensor: $0.tensor) }
    }
}

// MARK: - Linear

/// A fully connected layer, `y = x Wᵀ + b` (PyTorch's `nn.Linear`).
///
/// `weight` is `[out, in]`, `bias` `[out]`; input `[..., in]`, output `[..., out]`. Weights start as PyTorch's
/// uniform `±1/√in` unless an initialiser is given.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(inputSize: Int, outputSize: Int, bias hasBias: Bool = true, std: Float? = nil,
                generator: inout SeededGenerator) {
        let bound = 1 / Float(inputSize).squareRoot()
        if let std {
            weight = Tensor.normal([outputSize, inputSize], std: std, generator: &generator, requiresGrad: true)
            bias = hasBias ? Tensor.zeros([outputSize], requiresGrad: true) : nil
        } else {
            weight = Tensor.uniform([outputSize, inputSize], low: -bound, high: bound, generator: &generator,
                                    requiresGrad: true)
            bias = hasBias ? Tensor.uniform([outputSize], low: -bound, high: bound, generator: &generator,
                                            requiresGrad: true) : nil
        }
    }

    /// `x Wᵀ + b`, or `max(0, x Wᵀ + b)` in one pass with `relu`.
    public func callAsFunction(_ x: Tensor, relu: Bool = false) -> Tensor {
        x.linear(weight: weight, bias: bias, relu: relu)
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }
}

// MARK: - Embedding

/// A lookup table of learned vectors, one row per token (PyTorch's `nn.Embedding`).
///
/// `weight` is `[count, dimension]`; `embedding(idx)` maps `[B, T]` token ids to `[B, T, dimension]`: each token's
/// *embedding vector*. Rows start as normal samples with standard deviation `std` (PyTorch: 1).
public final class Embedding: Module {
    public let weight: Tensor

    public init(count: Int, dimension: Int, std: Float = 1, generator: inout SeededGenerator) {
        weight = Tensor.normal([count, dimension], std: std, generator: &generator, requiresGrad: true)
    }

    public func callAsFunction(_ indices: [Int], shape: [Int]) -> Tensor {
        weight.embedding(indices: indices, shape: shape)
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] { [("weight", weight)] }
}

// MARK: - LayerNorm

/// Normalises each vector over its last dimension, then scales and shifts it (PyTorch's `nn.LayerNorm`).
/// `weight` and `bias` are `[dimension]`, starting at ones and zeros.
public final class LayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(dimension: Int, bias hasBias: Bool = true) {
        weight = Tensor.filled([dimension], with: 1, requiresGrad: true)
        bias = hasBias ? Tensor.zeros([dimension], requiresGrad: true) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias) }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }
}
