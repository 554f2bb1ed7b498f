import NN
import TensorModule

/// What one forward pass of a ``GPTLanguageModel`` carries besides its tokens, in one value instead of four
/// arguments on every call: whether it trains (dropout, drawn from ``generator``), the KV cache it reads and extends
/// (then its tokens sit at positions `start...`), the bfloat16 copies of the weights a cached decode reads, and an
/// observer of every layer's attention.
///
/// Training, evaluation, prefill, one-token decoding and attention inspection are the same blocks run with
/// different contexts.
public struct ForwardContext {
    public var training: Bool
    /// Dropout masks come from here (training only).
    public var generator: SeededGenerator
    /// Keys and values of the positions before ``start``; this pass appends its own.
    public var cache: KVCache?
    /// With a cache, one-row products read these bfloat16 matrices instead of the fp32 weights.
    public var halfWeights: BFloat16Weights?
    /// Called once per layer with that layer's attention weights, `maps[head]` `[T, T]` row-major (batch 1).
    public var attentionObserver: ((_ layer: Int, _ maps: [[Float]]) -> Void)?
    /// The layer running now (set by the model).
    public internal(set) var layer = 0
    /// The position of this pass's first token: the cache's length when it extends one, else 0.
    public internal(set) var start = 0

    public init(training: Bool = false, generator: SeededGenerator = SeededGenerator(seed: 0), cache: KVCache? = nil,
                halfWeights: BFloat16Weights? = nil,
                attentionObserver: ((_ layer: Int, _ maps: [[Float]]) -> Void)? = nil) {
        (self.training, self.generator, self.cache) = (training, generator, cache)
        (self.halfWeights, self.attentionObserver) = (halfWeights, attentionObserver)
    }

    /// Dropout with this context's generator while training; `x` itself otherwise.
    mutating func dropout(_ x: Tensor, probability: Float) -> Tensor {
        training && probability > 0 ? x.dropout(probability: probability, generator: &generator) : x
    }

    /// Whether `x` is the one row of a cached decode: its products then run the matrix-vector kernels.
    func decodesOneRow(_ x: Tensor) -> Bool { cache != nil && !training && x.count == x.shape.last }
}

extension Linear {
    /// `y = x Wᵀ + b`, choosing the kernel by shape: one row of a cached decode runs the matrix-vector product (on
    /// this layer's bfloat16 copy when the context carries one), everything else the differentiable GEMM.
    func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        guard context.decodesOneRow(x) else { return self(x) }
        return rowProduct(x, weight: weight, bias: bias, half: context.halfWeights?[weight])
    }
}

/// `x Wᵀ + b` for one row `x` `[..., in]` and `W` `[out, in]` (or its bfloat16 copy), without autodiff.
func rowProduct(_ x: Tensor, weight: Tensor, bias: Tensor?, half: BFloat16Matrix?) -> Tensor {
    let outputs = weight.shape[0]
    let out = TensorStorage(zeros: outputs)
    if let bias { out.pointer.update(from: bias.storage.pointer, count: outputs) }
    if let half {
        matrixVectorProduct(out: out.pointer, weight: half, input: x.storage.pointer, accumulate: bias != nil)
    } else {
        matrixVectorProduct(out: out.pointer, weight: weight.storage.pointer, input: x.storage.pointer, rows: outputs,
                            columns: weight.shape[1], accumulate: bias != nil)
    }
    return Tensor(shape: Array(x.shape.dropLast()) + [outputs], storage: out)
}
