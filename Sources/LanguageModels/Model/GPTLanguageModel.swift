import NN
import TensorModule

/// The GPT of the lecture, of nanoGPT and of nanochat, from one definition: token embeddings (plus a learned
/// position table, or rotary positions inside attention), an optional embedding norm, a stack of ``Block``s, a final
/// norm and a linear head that scores every next token, optionally soft-capped.
///
/// B batch, T time (at most `blockSize`), C embedding size, V vocabulary size. Parameter names are nanoGPT's
/// (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, ...; `transformer.ln_e` for the embedding
/// norm). Training, evaluation, cached decoding and attention maps all run ``forward(_:batchSize:targets:context:)``.
/// Dropout draws from ``dropoutGenerator``, whose state a checkpoint saves so a resumed run repeats exactly.
public final class GPTLanguageModel: LanguageModel {
    public let configuration: ModelConfiguration
    public let tokenEmbeddingTable: Embedding  // (V, C)
    /// `nil` with rotary positions.
    public let positionEmbeddingTable: Embedding?  // (blockSize, C)
    public let embeddingNorm: Normalization?
    public let blocks: [Block]
    public let finalNorm: Normalization
    /// `nil` when tied: the head then reuses the token embedding table.
    public let lmHead: Linear?
    public let lmHeadBias: Tensor?
    public var dropoutGenerator: SeededGenerator

    public init(_ configuration: ModelConfiguration, generator: inout SeededGenerator) {
        self.configuration = configuration
        let c = configuration.embeddingSize, v = configuration.vocabSize
        tokenEmbeddingTable = Embedding(count: v, dimension: c, std: 0.02, generator: &generator)
        positionEmbeddingTable = configuration.positionEncoding == .learned
            ? Embedding(count: configuration.blockSize, dimension: c, std: 0.02, generator: &generator) : nil
        embeddingNorm = configuration.embeddingNorm ? Normalization(configuration) : nil
        let rotary = RotaryTable(configuration)  // one for every layer
        blocks = (0..<configuration.layerCount).map { _ in Block(configuration, rotary: rotary, generator: &generator) }
        finalNorm = Normalization(configuration)
        lmHead = configuration.tiedEmbeddings
            ? nil : Linear(inputSize: c, outputSize: v, bias: false, std: 0.02, generator: &generator)
        lmHeadBias = configuration.lmHeadBias ? Tensor.zeros([v], requiresGrad: true) : nil
        dropoutGenerator = SeededGenerator(seed: generator.next())
    }

    public func forward(_ idx: [Int], batchSize: Int, targets: [Int]?, training: Bool) -> (logits: Tensor, loss: Tensor?) {
        if training { return forward(idx, batchSize: batchSize, targets: targets, dropout: &dropoutGenerator) }
        // Inference never touches the model's dropout generator, so several threads may sample from one model.
        var context = ForwardContext()
        return forward(idx, batchSize: batchSize, targets: targets, context: &context)
    }

    /// A training forward pass whose dropout masks come from `dropout` (one generator per part of a batch that
    /// threads train on side by side).
    func forward(_ idx: [Int], batchSize: Int, targets: [Int]?, dropout: inout SeededGenerator)
        -> (logits: Tensor, loss: Tensor?) {
        var context = ForwardContext(training: true, generator: dropout)
        defer { dropout = context.generator }
        return forward(idx, batchSize: batchSize, targets: targets, context: &context)
    }

    /// The forward pass, `idx` `[B·T]` -> logits `[B, T, V]` (and the mean cross-entropy with `targets`). With a
    /// cache in `context` (batch 1), the tokens sit at positions `cache.count...` and the cache grows by T; with
    /// `context.batchCaches`, row `b` is one token at position `batchCaches[b].count` and each cache grows by one.
    public func forward(_ idx: [Int], batchSize: Int, targets: [Int]?, context: inout ForwardContext)
        -> (logits: Tensor, loss: Tensor?) {
        let time = idx.count / batchSize, start = context.cache?.count ?? 0
        let rowPositions = context.rowPositions  // a batched decoding step: B sequences, T = 1, each at its own position
        precondition(rowPositions.map { $0.count == batchSize && time == 1 } ?? true, "a batched step takes one token per cache")
        precondition(start + time <= configuration.blockSize && rowPositions.map { $0.allSatisfy { $0 < configuration.blockSize } } ?? true,
                     "context \(start + time) exceeds block size \(configuration.blockSize)")
        context.start = start
        var x = tokenEmbeddingTable(idx, shape: [batchSize, time])  // (B, T, C)
        if let embeddingNorm { x = embeddingNorm(x) }
        if let positionEmbeddingTable {
            x = x + (rowPositions.map { positionEmbeddingTable($0, shape: [batchSize, 1]) }  // (B, 1, C)
                ?? positionEmbeddingTable(Array(start..<(start + time)), shape: [time]))  // (T, C)
        }
        x = context.dropout(x, probability: configuration.dropout)
        for (layer, block) in blocks.enumerated() {
            context.layer = layer
            x = block(x, context: &context)
        }
        context.cache?.count = start + time
        for cache in context.batchCaches { cache.count += 1 }
        x = finalNorm(x)
        var logits = x.linear(weight: headWeight, bias: lmHeadBias)  // (B, T, V)
        if let cap = configuration.logitSoftcap { logits = logits.softcapped(cap) }
        return (logits, targets.map { logits.crossEntropy(targets: $0) })
    }

    /// The head's weight `[V, C]`: ``lmHead``'s, or the token embedding table when tied.
    var headWeight: Tensor { lmHead?.weight ?? tokenEmbeddingTable.weight }

    /// The weight matrices a forward pass multiplies by, in the order it reads them (each block's packed q/k/v, output
    /// projection, expansion (gate and up when gated) and projection, then the head): what ``RoundedWeights`` rounds
    /// for bf16 decoding.
    public var matrices: [Tensor] {
        blocks.flatMap { block in
            [block.attention.packedProjection.weight, block.attention.outputProjection.weight] + block.feedForward.matrices
        } + [headWeight]
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var named = prefixed("transformer.wte", tokenEmbeddingTable)
        if let positionEmbeddingTable { named += prefixed("transformer.wpe", positionEmbeddingTable) }
        if let embeddingNorm { named += prefixed("transformer.ln_e", embeddingNorm) }
        for (i, block) in blocks.enumerated() { named += prefixed("transformer.h.\(i)", block) }
        named += prefixed("transformer.ln_f", finalNorm)
        if let lmHead { named.append(("lm_head.weight", lmHead.weight)) }
        if let lmHeadBias { named.append(("lm_head.bias", lmHeadBias)) }
        return named
    }
}
