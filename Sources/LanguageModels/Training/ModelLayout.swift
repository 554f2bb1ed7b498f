/// The three ways a GPT of this package is laid out, defined once: presets build models with them, exports check a
/// model against the one their format represents, and imports set the one their weights come in.
///
/// | layout | activation | head | biases | positions, norms |
/// |---|---|---|---|---|
/// | `lecture` (the lecture's gpt.py) | ReLU | untied, with a bias | everywhere but key/query/value | learned, LayerNorm |
/// | `nanogpt` (nanoGPT's model.py, GPT-2) | exact GELU | tied to the embedding, no bias | everywhere (`bias`) | learned, LayerNorm |
/// | `modern` (nanochat, the speedruns) | ReLU² | untied, no bias | none | rotary, RMSNorm without gain, QK-norm, soft-cap 15 |
public enum ModelLayout: String, CaseIterable, Sendable, Codable {
    case lecture, nanoGPT = "nanogpt", modern

    /// A field of a configuration that a layout fixes, and the value it must have.
    public struct Requirement: Sendable, Equatable {
        /// The `config.json` key.
        public let field: String
        /// The value the layout gives it, as a person reads it.
        public let expected: String
    }

    /// Sets the fields this layout fixes; shape (layers, heads, width, block size, vocabulary) and dropout stay.
    public func apply(to configuration: inout ModelConfiguration) {
        var c = configuration
        (c.positionEncoding, c.norm, c.normAffine, c.qkNorm, c.embeddingNorm) = (.learned, .layerNorm, true, false, false)
        (c.keyValueHeadCount, c.logitSoftcap, c.zeroInitProjections) = (nil, nil, false)
        (c.gatedFeedForward, c.feedForwardSize, c.qkNormAffine, c.headDimension, c.ropeScaling) = (false, nil, false, nil, nil)
        switch self {
        case .lecture:
            (c.activation, c.tiedEmbeddings, c.lmHeadBias, c.bias, c.attentionBias) = (.relu, false, true, true, false)
        case .nanoGPT:
            (c.activation, c.tiedEmbeddings, c.lmHeadBias, c.bias, c.attentionBias) = (.gelu, true, false, true, true)
        case .modern:
            (c.activation, c.tiedEmbeddings, c.lmHeadBias, c.bias, c.attentionBias) = (.relu2, false, false, false, false)
            (c.positionEncoding, c.norm, c.normAffine, c.qkNorm, c.embeddingNorm) = (.rope, .rmsNorm, false, true, true)
            (c.zeroInitProjections, c.logitSoftcap) = (true, 15)
        }
        configuration = c
    }

    /// Every field of `configuration` that differs from this layout, with the value the layout needs (all of them at
    /// once, so one refusal names everything). `bias` may be off in nanoGPT's layout (its `bias=False`) as long as
    /// key/query/value follow it; the initialisation (`zero_init_projections`) and the rotary base never matter.
    public func mismatches(_ configuration: ModelConfiguration) -> [Requirement] {
        var reference = configuration
        apply(to: &reference)
        if self == .nanoGPT { (reference.bias, reference.attentionBias) = (configuration.bias, configuration.bias) }
        reference.ropeTheta = configuration.ropeTheta
        reference.zeroInitProjections = configuration.zeroInitProjections
        if self != .modern { reference.normEpsilon = 1e-5 } else { reference.normEpsilon = configuration.normEpsilon }
        return Self.differences(configuration, from: reference)
    }

    /// Every field of the options (not the shape) in which `c` differs from `r`, with `r`'s value.
    static func differences(_ c: ModelConfiguration, from r: ModelConfiguration) -> [Requirement] {
        let fields: [(String, String, String)] = [
            ("activation", c.activation.rawValue, r.activation.rawValue),
            ("tie_weights", "\(c.tiedEmbeddings)", "\(r.tiedEmbeddings)"),
            ("lm_head_bias", "\(c.lmHeadBias)", "\(r.lmHeadBias)"),
            ("bias", "\(c.bias)", "\(r.bias)"),
            ("attention_bias", "\(c.attentionBias)", "\(r.attentionBias)"),
            ("position_encoding", c.positionEncoding.rawValue, r.positionEncoding.rawValue),
            ("norm", c.norm.rawValue, r.norm.rawValue),
            ("norm_affine", "\(c.normAffine)", "\(r.normAffine)"),
            ("norm_eps", "\(c.normEpsilon)", "\(r.normEpsilon)"),
            ("qk_norm", "\(c.qkNorm)", "\(r.qkNorm)"),
            ("n_kv_head", "\(c.keyValueHeadCount ?? c.headCount)", "\(r.keyValueHeadCount ?? r.headCount)"),
            ("embedding_norm", "\(c.embeddingNorm)", "\(r.embeddingNorm)"),
            ("logit_softcap", c.logitSoftcap.map { "\($0)" } ?? "none", r.logitSoftcap.map { "\($0)" } ?? "none"),
            ("gated_mlp", "\(c.gatedFeedForward)", "\(r.gatedFeedForward)"),
            ("n_inner", "\(c.feedForwardWidth)", "\(r.feedForwardWidth)"),
            ("head_dim", "\(c.headSize)", "\(r.headSize)"),
            ("qk_norm_affine", "\(c.qkNormAffine)", "\(r.qkNormAffine)"),
            ("rope_scaling", c.ropeScaling?.kind.rawValue ?? "none", r.ropeScaling?.kind.rawValue ?? "none"),
        ]
        return fields.filter { $0.1 != $0.2 }.map { Requirement(field: $0.0, expected: $0.2) }
    }

    /// The fields of the 2026 layout and of the Llama, Qwen and nanochat families, which no 2019 GPT format (GPT-2,
    /// the lecture, llama.cpp's `gpt2`) holds.
    public static let modernFields = ["position_encoding", "norm", "norm_affine", "norm_eps", "qk_norm", "n_kv_head",
                                      "embedding_norm", "logit_softcap", "gated_mlp", "n_inner", "head_dim",
                                      "qk_norm_affine", "rope_scaling"]

    /// The layout `configuration` follows exactly, if any (nanoGPT's before the lecture's, then the modern one).
    public static func of(_ configuration: ModelConfiguration) -> ModelLayout? {
        [.nanoGPT, .lecture, .modern].first { $0.mismatches(configuration).isEmpty }
    }

    /// Throws naming every field that keeps `configuration` from this layout, which `format` needs, and the training
    /// option that avoids them all (`--layout`).
    /// `only` limits the check to those fields (a format that holds more than one layout's values of the others).
    public func require(_ configuration: ModelConfiguration, for format: String, only: [String]? = nil) throws {
        guard configuration.modelType == .gpt else {
            throw GPTError.invalidConfiguration(field: "model_type", reason: "only a GPT can be written as \(format)")
        }
        let wrong = mismatches(configuration).filter { only?.contains($0.field) ?? true }
        guard let first = wrong.first else { return }
        let others = wrong.dropFirst().map { "\($0.field)=\($0.expected)" }
        throw GPTError.invalidConfiguration(field: first.field, reason: "must be \(first.expected)"
            + (others.isEmpty ? "" : " (and \(others.joined(separator: ", ")))") + " for \(format); train with --layout \(rawValue)")
    }
}
