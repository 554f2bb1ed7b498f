import Foundation

// The options the Llama, Qwen and nanochat families add to the modern layout (`config.json` format 4): a gated
// feed-forward of its own width, SiLU, per-head gains of the QK-norm, a head size of its own and rescaled rotary
// frequencies. Each is one configuration key; the layers read them and nothing else.

/// How the rotary frequencies are rescaled for a context longer than the one a model was trained on, exactly as
/// transformers' `modeling_rope_utils` computes them (`rope_scaling`, or transformers 5's `rope_parameters`).
///
/// - `linear`: every frequency divided by ``factor`` (positions interpolated).
/// - `llama3`: Llama 3.1's: frequencies whose wavelength exceeds `original / low_freq_factor` positions are divided by
///   ``factor``, those shorter than `original / high_freq_factor` are kept, and those between are blended smoothly.
public struct RopeScaling: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case linear, llama3 }

    public var kind: Kind
    public var factor: Float
    /// `llama3` only.
    public var lowFrequencyFactor: Float?, highFrequencyFactor: Float?
    /// The context the model was trained on (`original_max_position_embeddings`); `llama3` only.
    public var originalContext: Int?

    public init(kind: Kind, factor: Float, lowFrequencyFactor: Float? = nil, highFrequencyFactor: Float? = nil,
                originalContext: Int? = nil) {
        (self.kind, self.factor) = (kind, factor)
        (self.lowFrequencyFactor, self.highFrequencyFactor, self.originalContext) = (lowFrequencyFactor, highFrequencyFactor, originalContext)
    }

    enum CodingKeys: String, CodingKey {
        case kind = "rope_type", factor, lowFrequencyFactor = "low_freq_factor", highFrequencyFactor = "high_freq_factor"
        case originalContext = "original_max_position_embeddings"
    }

    /// Throws naming the first field (`rope_scaling.factor`, ...) that cannot work.
    func validate() throws {
        func fail(_ field: String, _ reason: String) -> GPTError {
            .invalidConfiguration(field: "rope_scaling.\(field)", reason: reason)
        }
        func describe<Value>(_ value: Value?) -> String { value.map { "\($0)" } ?? "none" }
        guard factor.isFinite, factor >= 1, factor <= 1e4 else { throw fail("factor", "must be in [1, 10000], got \(factor)") }
        guard kind == .llama3 else { return }
        guard let low = lowFrequencyFactor, low.isFinite, low > 0 else {
            throw fail("low_freq_factor", "must be a number above 0 for llama3, got \(describe(lowFrequencyFactor))")
        }
        guard let high = highFrequencyFactor, high.isFinite, high > low else {
            throw fail("high_freq_factor", "must be a number above low_freq_factor (\(low)) for llama3, got \(describe(highFrequencyFactor))")
        }
        guard let original = originalContext, (1...ModelConfiguration.maximumBlockSize).contains(original) else {
            throw fail("original_max_position_embeddings",
                       "must be in 1...\(ModelConfiguration.maximumBlockSize) for llama3, got \(describe(originalContext))")
        }
    }

    /// `frequencies` (radians per position) rescaled, in fp32 as transformers computes them.
    func rescaled(_ frequencies: [Float]) -> [Float] {
        guard kind == .llama3, let low = lowFrequencyFactor, let high = highFrequencyFactor, let original = originalContext else {
            return frequencies.map { $0 / factor }
        }
        let context = Float(original), longest = context / low, shortest = context / high
        return frequencies.map { frequency in
            let wavelength = 2 * Float.pi / frequency
            let scaled = wavelength > longest ? frequency / factor : frequency
            guard !(wavelength < shortest), !(wavelength > longest) else { return scaled }
            let smooth = (context / wavelength - low) / (high - low)
            return (1 - smooth) * scaled / factor + smooth * scaled
        }
    }
}

extension ModelConfiguration {
    /// The feed-forward's hidden width: ``feedForwardSize``, else 4 x ``embeddingSize``.
    public var feedForwardWidth: Int { feedForwardSize ?? 4 * embeddingSize }

    /// Whether any option of format 4 is in use (then `config.json` is format 4).
    public var usesFamilyOptions: Bool {
        gatedFeedForward || activation == .silu || feedForwardSize.map { $0 != 4 * embeddingSize } == true
            || qkNormAffine || headDimension.map { headCount * $0 != embeddingSize } == true || ropeScaling != nil
    }

    /// The rotary embedding's frequency of each pair of a head, `1 / θ^(2i/D)` (transformers' `inv_freq`, fp32),
    /// rescaled by ``ropeScaling``.
    public var rotaryFrequencies: [Float] {
        let d = headSize
        let frequencies = (0..<(d / 2)).map { 1 / Foundation.pow(ropeTheta, Float(2 * $0) / Float(d)) }
        return ropeScaling?.rescaled(frequencies) ?? frequencies
    }

    func validateFamilyOptions() throws {
        func fail(_ field: String, _ reason: String) -> GPTError { .invalidConfiguration(field: field, reason: reason) }
        if let size = feedForwardSize, !(1...(1 << 20)).contains(size) {
            throw fail("n_inner", "must be null or in 1...\(1 << 20), got \(size)")
        }
        if let size = headDimension, !(1...4096).contains(size) { throw fail("head_dim", "must be null or in 1...4096, got \(size)") }
        if qkNormAffine && !qkNorm { throw fail("qk_norm_affine", "needs qk_norm: the gains scale the normalised heads") }
        if let scaling = ropeScaling {
            guard positionEncoding == .rope else { throw fail("rope_scaling", "needs position_encoding rope") }
            try scaling.validate()
        }
    }
}
