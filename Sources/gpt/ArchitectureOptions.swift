import ArgumentParser
import LanguageModels

/// The modern architecture options of `gpt train` (nanochat, the modded-nanogpt speedrun), each a `config.json` key.
struct ArchitectureOptions: ParsableArguments {
    @Option(help: "learned (a position table, GPT-2) or rope (rotary embeddings of q and k; default: learned).")
    var positionEncoding: String?
    @Option(parsing: .unconditional, help: "Base of the rotary angles (default: 10000).") var ropeTheta: Float?
    @Option(help: "layernorm or rmsnorm, for every block, the final norm and --embedding-norm (default: layernorm).")
    var norm: String?
    @Flag(help: "Norms without a learnable gain (nor shift).") var noNormAffine = false
    @Option(parsing: .unconditional, help: "Epsilon of every norm (default: 1e-5).") var normEps: Float?
    @Flag(help: "RMS-normalise each query and key head after the rotary embedding (nanochat).") var qkNorm = false
    @Option(parsing: .unconditional, help: "Key/value heads: fewer than --heads is grouped-query attention (default: --heads).")
    var kvHeads: Int?
    @Flag(help: "A norm right after the token embedding (nanochat).") var embeddingNorm = false
    @Option(parsing: .unconditional, help: "Logits become c * tanh(logits / c) (default: no cap).") var logitSoftcap: Float?
    @Flag(help: "Start the output projections of attention and feed-forward at zero.") var zeroInitProjections = false

    /// The first option given, for commands that take none of them (fine-tuning keeps the model's shape).
    var firstGiven: String? {
        let given: [(String, Bool)] = [
            ("--position-encoding", positionEncoding != nil), ("--rope-theta", ropeTheta != nil), ("--norm", norm != nil),
            ("--no-norm-affine", noNormAffine), ("--norm-eps", normEps != nil), ("--qk-norm", qkNorm),
            ("--kv-heads", kvHeads != nil), ("--embedding-norm", embeddingNorm), ("--logit-softcap", logitSoftcap != nil),
            ("--zero-init-projections", zeroInitProjections),
        ]
        return given.first { $0.1 }?.0
    }

    /// Sets the given options on `configuration` (the preset's values stay for the rest).
    func apply(to configuration: inout ModelConfiguration) throws {
        if let positionEncoding {
            guard let parsed = ModelConfiguration.PositionEncoding(rawValue: positionEncoding.lowercased()) else {
                throw GPTError.invalidArgument(name: "--position-encoding", reason: "use learned or rope, not \(positionEncoding.prefix(40))")
            }
            configuration.positionEncoding = parsed
        }
        if let ropeTheta { configuration.ropeTheta = ropeTheta }
        if let norm {
            guard let parsed = ModelConfiguration.Norm(rawValue: norm.lowercased()) else {
                throw GPTError.invalidArgument(name: "--norm", reason: "use layernorm or rmsnorm, not \(norm.prefix(40))")
            }
            configuration.norm = parsed
        }
        if noNormAffine { configuration.normAffine = false }
        if let normEps { configuration.normEpsilon = normEps }
        if qkNorm { configuration.qkNorm = true }
        if let kvHeads { configuration.keyValueHeadCount = kvHeads }
        if embeddingNorm { configuration.embeddingNorm = true }
        if let logitSoftcap { configuration.logitSoftcap = logitSoftcap }
        if zeroInitProjections { configuration.zeroInitProjections = true }
    }
}
