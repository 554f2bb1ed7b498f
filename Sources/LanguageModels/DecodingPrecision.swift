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

/// A bfloat16 copy of a ``GPTLanguageModel``'s weight matrices for ``GPTLanguageModel/decode(_:cache:weights:)``.
///
/// Layer norms, biases and embedding rows stay fp32 (they are a few kilobytes per token). The copy is a snapshot:
/// take a new one after the model's weights change.
public struct BFloat16Weights: Sendable {
    /// One block's matrices: `c_attn` `[3C, C]`, `c_proj` `[C, C]`, `c_fc` `[4C, C]`, `mlp.c_proj` `[C, 4C]`.
    public struct Block: Sendable {
        public let packedProjection, outputProjection, expand, project: BFloat16Matrix
    }

    public let blocks: [Block]
    /// The output head `[V, C]` (the token embedding table when the weights are tied).
    public let head: BFloat16Matrix

    /// Rounds every matrix of `model` to bfloat16, into one contiguous allocation in the order decoding reads them.
    public init(_ model: GPTLanguageModel) {
        func source(_ weight: Tensor) -> (UnsafePointer<Float>, rows: Int, columns: Int) {
            (UnsafePointer(weight.storage.pointer), weight.shape[0], weight.shape[1])
        }
        let perBlock = model.blocks.flatMap { block in
            [block.attention.packedProjection.weight, block.attention.outputProjection.weight,
             block.feedForward.expand.weight, block.feedForward.project.weight].map(source)
        }
        let head = source(model.lmHead?.weight ?? model.tokenEmbeddingTable.weight)
        let matrices = BFloat16Matrix.contiguous(perBlock + [head])
        blocks = model.blocks.indices.map { layer in
            Block(packedProjection: matrices[4 * layer], outputProjection: matrices[4 * layer + 1],
                  expand: matrices[4 * layer + 2], project: matrices[4 * layer + 3])
        }
        self.head = matrices[matrices.count - 1]
    }
}
