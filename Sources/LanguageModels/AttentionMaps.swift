import TensorModule

extension GPTLanguageModel {
    /// The attention weights of every head of every layer for a prompt, and the next-token probabilities after it.
    ///
    /// `weights[layer][head]` is `[T, T]` row-major: row `t` is how much position `t` attends to each position
    /// `0...t` (zero above the diagonal: the causal mask), computed the readable way, head by head, from the
    /// layer's packed query/key projections.
    public func attentionMaps(_ idx: [Int]) -> (weights: [[[Float]]], nextTokenProbabilities: [Float]) {
        withoutGradient {
            let t = idx.count, c = configuration.embeddingSize, d = configuration.headSize
            var generator = SeededGenerator(seed: 0)
            var x = tokenEmbeddingTable(idx, shape: [1, t]) + positionEmbeddingTable(Array(0..<t), shape: [t])
            var maps: [[[Float]]] = []
            for block in blocks {
                let qkv = block.attention.packedProjection(block.norm1(x))  // (1, T, 3C)
                maps.append((0..<configuration.headCount).map { h in
                    let q = qkv.sliced((h * d)..<(h * d + d))  // (1, T, D)
                    let k = qkv.sliced((c + h * d)..<(c + h * d + d))  // (1, T, D)
                    let scores = q.matmul(k.transposed()).scaled(by: 1 / Float(d).squareRoot())  // (1, T, T)
                    return scores.causallyMasked().softmax().values
                })
                x = block(x, generator: &generator)
            }
            let v = configuration.vocabSize
            let logits = forward(idx).logits
            let last = Tensor(shape: [1, v], values: Array(logits.values.suffix(v)))
            return (maps, last.softmax().values)
        }
    }
}
