import NN
import TensorModule

// B batch, T time, C embedding size.

/// A transformer block: communication (attention) then computation (feed-forward), each on a normed input and
/// added back to the residual stream. `[B, T, C] -> [B, T, C]`.
public final class Block: Module {
    public let norm1: Normalization, attention: CausalSelfAttention
    public let norm2: Normalization, feedForward: FeedForward

    public convenience init(_ configuration: ModelConfiguration, generator: inout SeededGenerator) {
        self.init(configuration, rotary: RotaryTable(configuration), generator: &generator)
    }

    /// With the model's one rotary table (``CausalSelfAttention``).
    init(_ configuration: ModelConfiguration, rotary: RotaryTable?, generator: inout SeededGenerator) {
        norm1 = Normalization(configuration)
        attention = CausalSelfAttention(configuration, rotary: rotary, generator: &generator)
        norm2 = Normalization(configuration)
        feedForward = FeedForward(configuration, generator: &generator)
    }

    public func callAsFunction(_ x: Tensor, context: inout ForwardContext) -> Tensor {
        var x = x
        x = x + attention(norm1(x), context: &context)
        x = x + feedForward(norm2(x), context: &context)
        return x
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        prefixed("ln_1", norm1) + prefixed("attn", attention) + prefixed("ln_2", norm2) + prefixed("mlp", feedForward)
    }
}
