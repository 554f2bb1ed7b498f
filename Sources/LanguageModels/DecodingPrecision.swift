import NN
import TensorModule

/// The storage format of the weight matrices that KV-cached decoding streams once per token.
///
/// One-token decoding is bound by memory bandwidth, not arithmetic: every new token reads every weight matrix once.
/// `bfloat16` reads half the bytes (the lecture model's 43 MB of fp32 matrices become 21.5 MB) and computes in fp32,
/// so logits move by bfloat16 rounding (relative error below 0.4% per weight) and a near-tie between two tokens may
/// fall the other way. `float32` is exact: cached and uncached sampling then give the same tokens.
public enum DecodingPrecision: String, Sendable, Codable, CaseIterable {
    case float32, bfloat16
}

/// A bfloat16 copy of a ``GPTLanguageModel``'s weight matrices for ``GPTLanguageModel/decode(_:cache:weights:)``:
/// each layer's product finds its own matrix here by its weight (``subscript(_:)``), so no order is fixed.
///
/// Norms, biases and embedding rows stay fp32 (they are a few kilobytes per token). The copy is a snapshot: take a
/// new one after the model's weights change.
public struct BFloat16Weights: @unchecked Sendable {
    private let matrices: [ObjectIdentifier: BFloat16Matrix]

    /// Rounds every matrix a decode multiplies by (the blocks' four linear layers and the head, the token embedding
    /// table when tied) to bfloat16, in one contiguous allocation in the order decoding reads them.
    public init(_ model: GPTLanguageModel) {
        let weights = model.blocks.flatMap { block in
            [block.attention.packedProjection.weight, block.attention.outputProjection.weight,
             block.feedForward.expand.weight, block.feedForward.project.weight]
        } + [model.lmHead?.weight ?? model.tokenEmbeddingTable.weight]
        let copies = BFloat16Matrix.contiguous(weights.map { (UnsafePointer($0.storage.pointer), $0.shape[0], $0.shape[1]) })
        matrices = Dictionary(zip(weights.map(ObjectIdentifier.init), copies), uniquingKeysWith: { first, _ in first })
    }

    /// The bfloat16 copy of `weight`, if it is one of the model's matrices.
    public subscript(_ weight: Tensor) -> BFloat16Matrix? { matrices[ObjectIdentifier(weight)] }
}
