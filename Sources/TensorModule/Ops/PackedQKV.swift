// The packed projection that fused attention reads. T time, C channels, H query heads, KV key/value heads, D the
// head size.

/// Where the queries, keys and values lie in a block's packed projection (`attn.c_attn`, `[(H + 2·KV)·D, C]`): the
/// features `0..<H·D` are the queries of heads `0..<H`, then `KV·D` keys, then `KV·D` values (nanoGPT's order when
/// KV = H, Hugging Face's and llama.cpp's with grouped-query attention). Query head `h` reads key/value head
/// `h / (H / KV)`. Every reader of that layout (the fused attention op below, the KV cache, attention maps, the
/// reference heads, the exporters) asks this type.
public struct PackedQKV: Equatable, Sendable {
    public let heads: Int, keyValueHeads: Int, headSize: Int

    /// `heads` query heads and `keyValueHeads` key/value heads (a divisor of `heads`) of `headSize` channels.
    public init(heads: Int, keyValueHeads: Int, headSize: Int) {
        (self.heads, self.keyValueHeads, self.headSize) = (heads, keyValueHeads, headSize)
    }

    public var queryWidth: Int { heads * headSize }
    public var keyValueWidth: Int { keyValueHeads * headSize }
    /// `(H + 2·KV)·D`: one row of the packed projection.
    public var width: Int { queryWidth + 2 * keyValueWidth }
    /// Query heads per key/value head.
    public var groupSize: Int { heads / keyValueHeads }

    public func queryOffset(_ head: Int) -> Int { head * headSize }
    public func keyOffset(_ keyValueHead: Int) -> Int { queryWidth + keyValueHead * headSize }
    public func valueOffset(_ keyValueHead: Int) -> Int { queryWidth + keyValueWidth + keyValueHead * headSize }
    /// The key/value head query head `head` reads.
    public func keyValueHead(forQuery head: Int) -> Int { head / groupSize }
}

extension Tensor {
    /// Fused causal self-attention of packed projections `[B, T, (H + 2·KV)·D]` laid out as `layout` says, each
    /// key/value head serving its group of query heads (repeated for them first when KV < H): `[B, T, H·D]`.
    public func causalSelfAttention(_ layout: PackedQKV, dropout: Float = 0, generator: inout SeededGenerator)
        -> Tensor
    {
        let packed = layout.keyValueHeads == layout.heads ? self
            : expandingKeyValueHeads(queryHeads: layout.heads, keyValueHeads: layout.keyValueHeads,
                                     headSize: layout.headSize)
        return packed.causalSelfAttention(heads: layout.heads, dropout: dropout, generator: &generator)
    }
}
