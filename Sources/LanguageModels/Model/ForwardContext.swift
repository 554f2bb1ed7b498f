import NN
import TensorModule

/// What one forward pass of a ``GPTLanguageModel`` carries besides its tokens, in one value instead of four
/// arguments on every call: whether it trains (dropout, drawn from ``generator``), the KV cache it reads and extends
/// (then its tokens sit at positions `start...`), and an observer of every layer's attention.
///
/// Training, evaluation, prefill, one-token decoding and attention inspection are the same blocks run with
/// different contexts. The precision of their matrix products is not part of it: that is a setting of the products
/// (``KernelSettings/with(precision:weights:_:)``), whose shape also picks the kernel (one row of a decode runs the
/// matrix-vector one).
public struct ForwardContext {
    public var training: Bool
    /// Dropout masks come from here (training only).
    public var generator: SeededGenerator
    /// Keys and values of the positions before ``start``; this pass appends its own.
    public var cache: KVCache?
    /// A batched decoding step's caches (else empty): row `b` of the pass is one new token of the sequence of
    /// `batchCaches[b]`, at position `batchCaches[b].count` (``GPTLanguageModel/decode(_:caches:)``).
    public var batchCaches: [KVCache] = []
    /// Called once per layer with that layer's attention weights, `maps[head]` `[T, T]` row-major (batch 1).
    public var attentionObserver: ((_ layer: Int, _ maps: [[Float]]) -> Void)?
    /// The layer running now (set by the model).
    public internal(set) var layer = 0
    /// The position of this pass's first token: the cache's length when it extends one, else 0.
    public internal(set) var start = 0

    public init(training: Bool = false, generator: SeededGenerator = SeededGenerator(seed: 0), cache: KVCache? = nil,
                batchCaches: [KVCache] = [], attentionObserver: ((_ layer: Int, _ maps: [[Float]]) -> Void)? = nil) {
        (self.training, self.generator, self.cache, self.batchCaches) = (training, generator, cache, batchCaches)
        self.attentionObserver = attentionObserver
    }

    /// Each row's position in a batched decoding step (its cache's length), else nil.
    var rowPositions: [Int]? { batchCaches.isEmpty ? nil : batchCaches.map(\.count) }

    /// Dropout with this context's generator while training; `x` itself otherwise.
    mutating func dropout(_ x: Tensor, probability: Float) -> Tensor {
        training && probability > 0 ? x.dropout(probability: probability, generator: &generator) : x
    }
}
