import Foundation

extension ModelConfiguration {
    /// The packed q/k/v layout of this configuration's attention.
    public var packedQKV: PackedQKV {
        PackedQKV(heads: headCount, keyValueHeads: keyValueHeadCount ?? headCount, headSize: headSize)
    }

    /// The initial standard deviation of a block's two output projections: GPT-2's `0.02 / √(2·n_layer)`, or 0
    /// with ``zeroInitProjections``.
    var projectionStd: Float { zeroInitProjections ? 0 : 0.02 / Float(2 * layerCount).squareRoot() }

    /// Whether any option of the modern layout (or of format 4, ``usesFamilyOptions``) differs from the 2019 GPT's
    /// (then `config.json` is format 3 or more).
    public var usesModernOptions: Bool {
        usesFamilyOptions || positionEncoding != .learned || norm != .layerNorm || !normAffine || normEpsilon != 1e-5 || qkNorm
            || (keyValueHeadCount ?? headCount) != headCount || embeddingNorm || logitSoftcap != nil || zeroInitProjections
    }

    func validateModernOptions() throws {
        func fail(_ field: String, _ reason: String) -> GPTError { .invalidConfiguration(field: field, reason: reason) }
        let kv = keyValueHeadCount ?? headCount
        guard (1...headCount).contains(kv), headCount % kv == 0 else {
            throw fail("n_kv_head", "(\(kv)) must divide n_head (\(headCount))")
        }
        if positionEncoding == .rope {
            guard headSize % 2 == 0 else {
                throw headDimension == nil ? fail("n_embd", "/ n_head = \(headSize) must be even for rotary embeddings")
                    : fail("head_dim", "(\(headSize)) must be even for rotary embeddings")
            }
            guard ropeTheta.isFinite, ropeTheta > 1 else { throw fail("rope_theta", "must be a finite number above 1, got \(ropeTheta)") }
        }
        guard normEpsilon.isFinite, normEpsilon > 0, normEpsilon <= 1 else {
            throw fail("norm_eps", "must be in (0, 1], got \(normEpsilon)")
        }
        if let cap = logitSoftcap, !(cap.isFinite && cap > 0 && cap <= 1e4) {
            throw fail("logit_softcap", "must be null or in (0, 10000], got \(cap)")
        }
        try validateFamilyOptions()
    }

    /// Writes every 2019 field, the modern ones only where they differ from the 2019 GPT and those of format 4 only
    /// where they differ from format 3's model, under the lowest format version that holds them.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(usesFamilyOptions ? 4 : usesModernOptions ? 3 : 2, forKey: .formatVersion)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(blockSize, forKey: .blockSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(embeddingSize, forKey: .embeddingSize)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(bias, forKey: .bias)
        try c.encode(attentionBias, forKey: .attentionBias)
        try c.encode(lmHeadBias, forKey: .lmHeadBias)
        try c.encode(activation, forKey: .activation)
        try c.encode(tiedEmbeddings, forKey: .tiedEmbeddings)
        guard usesModernOptions else { return }
        try c.encode(positionEncoding, forKey: .positionEncoding)
        if positionEncoding == .rope { try c.encode(ropeTheta, forKey: .ropeTheta) }
        try c.encode(norm, forKey: .norm)
        try c.encode(normAffine, forKey: .normAffine)
        try c.encode(normEpsilon, forKey: .normEpsilon)
        try c.encode(qkNorm, forKey: .qkNorm)
        try c.encode(keyValueHeadCount ?? headCount, forKey: .keyValueHeadCount)
        try c.encode(embeddingNorm, forKey: .embeddingNorm)
        try c.encodeIfPresent(logitSoftcap, forKey: .logitSoftcap)
        try c.encode(zeroInitProjections, forKey: .zeroInitProjections)
        guard usesFamilyOptions else { return }
        try c.encode(gatedFeedForward, forKey: .gatedFeedForward)
        try c.encode(feedForwardWidth, forKey: .feedForwardSize)
        try c.encode(qkNormAffine, forKey: .qkNormAffine)
        try c.encode(headSize, forKey: .headDimension)
        try c.encodeIfPresent(ropeScaling, forKey: .ropeScaling)
    }
}
