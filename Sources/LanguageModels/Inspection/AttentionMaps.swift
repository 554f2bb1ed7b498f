import TensorModule

extension GPTLanguageModel {
    /// The attention weights of every head of every layer for a prompt, and the next-token probabilities after it:
    /// one forward pass with an observer on the attention op.
    ///
    /// `weights[layer][head]` is `[T, T]` row-major: row `t` is how much position `t` attends to each position
    /// `0...t` (zero above the diagonal: the causal mask), computed the readable way, head by head, from the
    /// layer's queries and keys (after the rotary embedding and QK-norm when the model has them).
    public func attentionMaps(_ idx: [Int]) -> (weights: [[[Float]]], nextTokenProbabilities: [Float]) {
        withoutGradient {
            var maps: [[[Float]]] = []
            var context = ForwardContext(attentionObserver: { _, layerMaps in maps.append(layerMaps) })
            let logits = forward(idx, batchSize: 1, targets: nil, context: &context).logits
            let v = configuration.vocabSize
            let last = Tensor(shape: [1, v], values: Array(logits.values.suffix(v)))
            return (maps, last.softmax().values)
        }
    }
}
