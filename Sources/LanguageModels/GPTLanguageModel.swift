import NN
import TensorModule

/// The GPT of the lecture and of nanoGPT: token plus position embeddings, a stack of ``Block``s, a final layer norm
/// and a linear head that scores every next token.
///
/// B batch, T time (at most `blockSize`), C embedding size, V vocabulary size. Parameter names are nanoGPT's
/// (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, ...). Dropout draws from ``dropoutGenerator``,
/// whose state a checkpoint saves so a resumed run repeats exactly.
public final class GPTLanguageModel: LanguageModel {
    public let configuration: ModelConfiguration
    public let tokenEmbeddingTable: Embedding  // (V, C)
    public let positionEmbeddingTable: Embedding  // (blockSize, C)
    public let blocks: [Block]
    public let finalNorm: LayerNorm
    /// `nil` when tied: the head then reuses the token embedding table.
    public let lmHead: Linear?
    public let lmHeadBias: Tensor?
    public var dropoutGenerator: SeededGenerator

    public init(_ configuration: ModelConfiguration, generator: inout SeededGenerator) {
        self.configuration = configuration
        let c = configuration.embeddingSize, v = configuration.vocabSize
        tokenEmbeddingTable = Embedding(count: v, dimension: c, std: 0.02, generator: &generator)
        positionEmbeddingTable = Embedding(count: configuration.blockSize, dimension: c, std: 0.02, generator: &generator)
        blocks = (0..<configuration.layerCount).map { _ in Block(configuration, generator: &generator) }
        finalNorm = LayerNorm(dimension: c, bias: configuration.bias)
        lmHead = configuration.tiedEmbeddings
            ? nil : Linear(inputSize: c, outputSize: v, bias: false, std: 0.02, generator: &generator)
        lmHeadBias = configuration.lmHeadBias ? Tensor.zeros([v], requiresGrad: true) : nil
        dropoutGenerator = SeededGenerator(seed: generator.next())
    }

    public func forward(_ idx: [Int], batchSize: Int, targets: [Int]?, training: Bool) -> (logits: Tensor, loss: Tensor?) {
        forward(idx, batchSize: batchSize, targets: targets, training: training, cache: nil)
    }

    /// The forward pass; with a `cache` (batch 1, no training), it also records every layer's keys and values.
    /// Training draws dropout masks from ``dropoutGenerator``.
    func forward(
        _ idx: [Int], batchSize: Int, targets: [Int]?, training: Bool, cache: KVCache?
    ) -> (logits: Tensor, loss: Tensor?) {
        if training { return forward(idx, batchSize: batchSize, targets: targets, dropout: &dropoutGenerator) }
        // Inference never touches the model's dropout generator, so several threads may sample from one model.
        var unused = SeededGenerator(seed: 0)
        return forward(idx, batchSize: batchSize, targets: targets, training: false, cache: cache, generator: &unused)
    }

    /// A training forward pass whose dropout masks come from `dropout` (one generator per part of a batch that
    /// threads train on side by side).
    func forward(_ idx: [Int], batchSize: Int, targets: [Int]?, dropout: inout SeededGenerator)
        -> (logits: Tensor, loss: Tensor?) {
        forward(idx, batchSize: batchSize, targets: targets, training: true, cache: nil, generator: &dropout)
    }

    private func forward(
        _ idx: [Int], batchSize: Int, targets: [Int]?, training: Bool, cache: KVCache?,
        generator: inout SeededGenerator
    ) -> (logits: Tensor, loss: Tensor?) {
        let time = idx.count / batchSize
        precondition(time <= configuration.blockSize, "context \(time) exceeds block size \(configuration.blockSize)")
        let tokens = tokenEmbeddingTable(idx, shape: [batchSize, time])  // (B, T, C)
        let positions = positionEmbeddingTable(Array(0..<time), shape: [time])  // (T, C)
        var x = tokens + positions  // (B, T, C)
        if training { x = x.dropout(probability: configuration.dropout, generator: &generator) }
        cache?.reset()
        for (layer, block) in blocks.enumerated() {
            x = block(x, generator: &generator, training: training, cache: cache, layer: layer)
        }
        cache?.count = time
        x = finalNorm(x)
        let headWeight = lmHead?.weight ?? tokenEmbeddingTable.weight
        let logits = x.linear(weight: headWeight, bias: lmHeadBias)  // (B, T, V)
        return (logits, targets.map { logits.crossEntropy(targets: $0) })
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var named = prefixed("transformer.wte", tokenEmbeddingTable) + prefixed("transformer.wpe", positionEmbeddingTable)
        for (i, block) in blocks.enumerated() { named += prefixed("transformer.h.\(i)", block) }
        named += prefixed("transformer.ln_f", finalNorm)
        if let lmHead { named.append(("lm_head.weight", lmHead.weight)) }
        if let lmHeadBias { named.append(("lm_head.bias", lmHeadBias)) }
        return named
    }
}
