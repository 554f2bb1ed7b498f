import ArgumentParser
import LanguageModels

/// The modern architecture options of `gpt train` (nanochat, the modded-nanogpt speedrun), each a `config.json` key.
struct ArchitectureOptions: ParsableArguments {
    @Option(help: "learned (a position table, GPT-2) or rope (rotary embeddings of q and k; default: learned).")
    var positionEncoding: ModelConfiguration.PositionEncoding?
    @Option(parsing: .unconditional, help: "Base of the rotary angles (default: 10000).") var ropeTheta: Float?
    @Option(help: "layernorm or rmsnorm, for every block, the final norm and --embedding-norm (default: layernorm).")
    var norm: ModelConfiguration.Norm?
    @Flag(help: "Norms without a learnable gain (nor shift).") var noNormAffine = false
    @Option(parsing: .unconditional, help: "Epsilon of every norm (default: 1e-5).") var normEps: Float?
    @Flag(help: "RMS-normalise each query and key head (nanochat, Qwen3).") var qkNorm = false
    @Option(parsing: .unconditional, help: "Key/value heads: fewer than --heads is grouped-query attention (default: --heads).")
    var kvHeads: Int?
    @Flag(help: "A norm right after the token embedding (nanochat).") var embeddingNorm = false
    @Option(parsing: .unconditional, help: "Logits become c * tanh(logits / c) (default: no cap).") var logitSoftcap: Float?
    @Flag(help: "Start the output projections of attention and feed-forward at zero.") var zeroInitProjections = false
    @Flag(help: "A gated feed-forward, c_proj(act(c_fc(x)) * c_up(x)): SwiGLU with --activation silu (Llama, Qwen).")
    var gatedMlp = false
    @Option(parsing: .unconditional, help: "The feed-forward's hidden width (default: 4 x --embd).") var nInner: Int?
    @Option(parsing: .unconditional, help: "Channels per attention head (default: --embd / --heads).") var headDim: Int?
    @Flag(help: "Learnable gains of the QK-norm, one per channel of a head, for queries and keys (Qwen3; needs --qk-norm).")
    var qkNormGains = false

    /// Sets the given options on the recipe (a flag not given stays `nil`: the preset's value).
    func apply(to options: inout TrainingRecipe.ModelOptions) {
        (options.positionEncoding, options.ropeTheta, options.norm) = (positionEncoding, ropeTheta, norm)
        (options.normEps, options.kvHeads, options.logitSoftcap) = (normEps, kvHeads, logitSoftcap)
        options.normAffine = noNormAffine ? false : nil
        options.qkNorm = qkNorm ? true : nil
        options.embeddingNorm = embeddingNorm ? true : nil
        options.zeroInitProjections = zeroInitProjections ? true : nil
        (options.gatedMlp, options.qkNormGains) = (gatedMlp ? true : nil, qkNormGains ? true : nil)
        (options.nInner, options.headDim) = (nInner, headDim)
    }
}
