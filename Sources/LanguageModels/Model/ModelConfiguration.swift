import Foundation

/// The shape of a model, saved as `config.json` with nanoGPT's keys (`vocab_size`, `block_size`, `n_layer`,
/// `n_head`, `n_embd`, `dropout`, `bias`).
///
/// Field names follow Swift in code and nanoGPT in JSON. ``validate()`` names the field of any configuration that
/// cannot work.
public struct ModelConfiguration: Codable, Equatable, Sendable {
    public enum ModelType: String, Codable, Sendable { case bigram, gpt }
    /// The feed-forward's nonlinearity. `gelu` is the exact GELU (PyTorch's `nn.GELU()`, nanoGPT's MLP);
    /// `gelu_tanh` GPT-2's tanh approximation, what `gelu` meant in `config.json` files before format version 2
    /// (they load as before); `relu2` is ReLU squared (modded-nanogpt, nanochat).
    public enum Activation: String, Codable, Sendable, CaseIterable {
        case relu, gelu, geluTanh = "gelu_tanh", relu2
    }

    /// How a position enters the model: a learned table added to the token embedding (GPT-2), or rotary
    /// embeddings of the queries and keys (``ropeTheta``; LLaMA, nanochat).
    public enum PositionEncoding: String, Codable, Sendable, CaseIterable { case learned, rope }
    /// The normalisation of every block, of the final layer and of ``embeddingNorm``.
    public enum Norm: String, Codable, Sendable, CaseIterable { case layerNorm = "layernorm", rmsNorm = "rmsnorm" }

    /// The `config.json` layout version this code reads (2: `gelu` is exact, `gelu_tanh` the approximation; 3: the
    /// modern options). A configuration is written with the lowest version that holds it, so a model of the 2019
    /// layout still loads in tools that read version 2.
    public static let currentFormatVersion = 3

    /// The format version read: this tool's after decoding (older files are read in its meaning), or a newer one, which
    /// ``validate()`` refuses. Written as the lowest version that holds the configuration.
    public var formatVersion = ModelConfiguration.currentFormatVersion
    public var modelType: ModelType
    public var vocabSize: Int
    /// The longest context the model conditions on (the position table's rows for a GPT).
    public var blockSize: Int
    public var layerCount = 0
    public var headCount = 0
    public var embeddingSize = 0
    public var dropout: Float = 0
    /// Biases in the attention projection, feed-forward layers and layer norms (nanoGPT's `bias`).
    public var bias = true
    /// Biases in the key, query and value projections (the lecture: none).
    public var attentionBias = false
    /// A bias on the language-model head (the lecture: yes; nanoGPT: no).
    public var lmHeadBias = true
    public var activation = Activation.relu
    /// Whether the lm head shares the token embedding table's weights (nanoGPT: yes; the lecture: no).
    public var tiedEmbeddings = false
    public var positionEncoding = PositionEncoding.learned
    /// The base θ of the rotary angles `t / θ^(2i/D)`.
    public var ropeTheta: Float = 10_000
    public var norm = Norm.layerNorm
    /// Whether norms have a learnable gain (and, for a layer norm with ``bias``, a shift).
    public var normAffine = true
    /// The ε under every norm's square root.
    public var normEpsilon: Float = 1e-5
    /// RMS-normalise each query and key head (no gain) after the rotary embedding (nanochat).
    public var qkNorm = false
    /// Key and value heads (grouped-query attention); `nil`: one per query head.
    public var keyValueHeadCount: Int?
    /// A norm right after the token embedding (nanochat).
    public var embeddingNorm = false
    /// `c`: logits become `c·tanh(logits / c)`; `nil`: no cap.
    public var logitSoftcap: Float?
    /// The output projections of attention and feed-forward start at zero (modded-nanogpt, nanochat).
    public var zeroInitProjections = false

    public init(modelType: ModelType, vocabSize: Int, blockSize: Int) {
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.blockSize = blockSize
    }

    /// The bigram model of `vocabSize` tokens.
    public static func bigram(vocabSize: Int, blockSize: Int = 8) -> ModelConfiguration {
        ModelConfiguration(modelType: .bigram, vocabSize: vocabSize, blockSize: blockSize)
    }

    /// Channels per attention head.
    public var headSize: Int { headCount > 0 ? embeddingSize / headCount : 0 }

    /// Throws ``GPTError/invalidConfiguration(field:reason:)`` naming the first field that cannot work: each
    /// number has both bounds, and the parameters must fit in this machine's memory (checked without overflow,
    /// before anything is allocated).
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> GPTError { .invalidConfiguration(field: field, reason: reason) }
        func check(_ value: Int, _ range: ClosedRange<Int>, _ field: String) throws {
            guard range.contains(value) else {
                throw fail(field, "must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
            }
        }
        if formatVersion > Self.currentFormatVersion {
            throw fail("format_version", "is \(formatVersion), newer than this tool reads (\(Self.currentFormatVersion))")
        }
        try check(vocabSize, 1...Self.maximumVocabSize, "vocab_size")
        try check(blockSize, 1...Self.maximumBlockSize, "block_size")
        if modelType == .gpt {
            try check(layerCount, 1...1024, "n_layer")
            try check(headCount, 1...1024, "n_head")
            try check(embeddingSize, 1...65_536, "n_embd")
            if embeddingSize % headCount != 0 {
                throw fail("n_embd", "(\(embeddingSize)) must be divisible by n_head (\(headCount))")
            }
            if !(dropout >= 0 && dropout < 1) { throw fail("dropout", "must be in [0, 1), got \(dropout)") }
            try validateModernOptions()
        }
        let bytes = try parameterBytes()
        let available = Self.availableMemory
        if bytes > available / 2 {
            throw fail(modelType == .gpt ? "n_embd" : "vocab_size", "gives \(formatBytes(bytes)) of parameters; "
                + "this machine has \(formatBytes(available)) of memory (at most half of it for the weights)")
        }
    }

    /// The largest vocabulary a configuration may name.
    public static let maximumVocabSize = 1 << 21
    /// The longest context a configuration may name.
    public static let maximumBlockSize = 1 << 20

    /// The machine's physical memory in bytes.
    public static var availableMemory: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

    /// The number of parameters (`Float`s) the configuration describes, computed with overflow checks; throws
    /// naming `n_embd` (or `vocab_size`) when the count does not fit an `Int`.
    public func parameterCount() throws -> Int {
        func product(_ factors: Int...) throws -> Int {
            try factors.reduce(1) { total, factor in
                let (value, overflow) = total.multipliedReportingOverflow(by: factor)
                if overflow { throw GPTError.invalidConfiguration(field: "n_embd", reason: "gives more parameters than can be counted") }
                return value
            }
        }
        func sum(_ terms: [Int]) throws -> Int {
            try terms.reduce(0) { total, term in
                let (value, overflow) = total.addingReportingOverflow(term)
                if overflow { throw GPTError.invalidConfiguration(field: "n_layer", reason: "gives more parameters than can be counted") }
                return value
            }
        }
        guard modelType == .gpt else { return try product(vocabSize, vocabSize) }
        let c = embeddingSize, v = vocabSize, qkv = packedQKV.width
        let norm = !normAffine ? 0 : self.norm == .layerNorm && bias ? 2 * c : c
        let perLayer = try sum([
            norm, try product(qkv, c), attentionBias ? qkv : 0, try product(c, c), bias ? c : 0,  // attention
            norm, try product(4 * c, c), bias ? 4 * c : 0, try product(c, 4 * c), bias ? c : 0,  // feed-forward
        ])
        return try sum([
            try product(v, c), positionEncoding == .learned ? try product(blockSize, c) : 0, embeddingNorm ? norm : 0,
            try product(layerCount, perLayer), norm, tiedEmbeddings ? 0 : try product(v, c), lmHeadBias ? v : 0,
        ])
    }

    /// The parameters' size in bytes (fp32).
    public func parameterBytes() throws -> Int {
        let (bytes, overflow) = try parameterCount().multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        if overflow { throw GPTError.invalidConfiguration(field: "n_embd", reason: "gives more parameters than can be counted") }
        return bytes
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", modelType = "model_type", vocabSize = "vocab_size"
        case blockSize = "block_size", layerCount = "n_layer", headCount = "n_head", embeddingSize = "n_embd"
        case dropout, bias, attentionBias = "attention_bias", lmHeadBias = "lm_head_bias", activation
        case tiedEmbeddings = "tie_weights", positionEncoding = "position_encoding", ropeTheta = "rope_theta", norm
        case normAffine = "norm_affine", normEpsilon = "norm_eps", qkNorm = "qk_norm", keyValueHeadCount = "n_kv_head"
        case embeddingNorm = "embedding_norm", logitSoftcap = "logit_softcap", zeroInitProjections = "zero_init_projections"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try c.decodeIfPresent(Int.self, forKey: .formatVersion) ?? 1
        modelType = try c.decodeIfPresent(ModelType.self, forKey: .modelType) ?? .gpt
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        blockSize = try c.decode(Int.self, forKey: .blockSize)
        layerCount = try c.decodeIfPresent(Int.self, forKey: .layerCount) ?? 0
        headCount = try c.decodeIfPresent(Int.self, forKey: .headCount) ?? 0
        embeddingSize = try c.decodeIfPresent(Int.self, forKey: .embeddingSize) ?? 0
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0
        bias = try c.decodeIfPresent(Bool.self, forKey: .bias) ?? true
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? bias
        lmHeadBias = try c.decodeIfPresent(Bool.self, forKey: .lmHeadBias) ?? false
        // No key (nanoGPT's own configuration): nanoGPT's exact GELU. Before format version 2 `gelu` was the tanh form.
        let activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? .gelu
        self.activation = activation == .gelu && formatVersion < 2 && c.contains(.activation) ? .geluTanh : activation
        tiedEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tiedEmbeddings) ?? true
        positionEncoding = try c.decodeIfPresent(PositionEncoding.self, forKey: .positionEncoding) ?? .learned
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10_000
        norm = try c.decodeIfPresent(Norm.self, forKey: .norm) ?? .layerNorm
        normAffine = try c.decodeIfPresent(Bool.self, forKey: .normAffine) ?? true
        normEpsilon = try c.decodeIfPresent(Float.self, forKey: .normEpsilon) ?? 1e-5
        qkNorm = try c.decodeIfPresent(Bool.self, forKey: .qkNorm) ?? false
        keyValueHeadCount = try c.decodeIfPresent(Int.self, forKey: .keyValueHeadCount)
        embeddingNorm = try c.decodeIfPresent(Bool.self, forKey: .embeddingNorm) ?? false
        logitSoftcap = try c.decodeIfPresent(Float.self, forKey: .logitSoftcap)
        zeroInitProjections = try c.decodeIfPresent(Bool.self, forKey: .zeroInitProjections) ?? false
        // Read in the current meaning from here on; a newer version is kept so that validate() refuses it.
        if formatVersion < Self.currentFormatVersion { formatVersion = Self.currentFormatVersion }
    }
}

/// A byte count as `1.5 GB`, `320 MB` or `12 KB`.
public func formatBytes(_ bytes: Int) -> String {
    let value = Double(bytes)
    if value >= 1e9 { return String(format: "%.1f GB", value / 1e9) }
    if value >= 1e6 { return String(format: "%.0f MB", value / 1e6) }
    return String(format: "%.0f KB", value / 1e3)
}
