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
    /// (they load as before); `relu2` is ReLU squared (modded-nanogpt, nanochat); `silu` is `x·σ(x)` (Llama's and
    /// Qwen's gate, with ``ModelConfiguration/gatedFeedForward``).
    public enum Activation: String, Codable, Sendable, CaseIterable {
        case relu, gelu, geluTanh = "gelu_tanh", relu2, silu
    }

    /// How a position enters the model: a learned table added to the token embedding (GPT-2), or rotary
    /// embeddings of the queries and keys (``ropeTheta``; LLaMA, nanochat).
    public enum PositionEncoding: String, Codable, Sendable, CaseIterable { case learned, rope }
    /// The normalisation of every block, of the final layer and of ``embeddingNorm``.
    public enum Norm: String, Codable, Sendable, CaseIterable { case layerNorm = "layernorm", rmsNorm = "rmsnorm" }

    /// The `config.json` layout version this code reads (2: `gelu` is exact, `gelu_tanh` the approximation; 3: the
    /// modern options). A configuration is written with the lowest version that holds it, so a model of the 2019
    /// layout still loads in tools that read version 2; 4: the options of the Llama, Qwen and nanochat families).
    public static let currentFormatVersion = 4

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
    /// A gated feed-forward, `c_proj(act(c_fc(x)) ⊙ c_up(x))` (SwiGLU with ``Activation/silu``: Llama, Qwen); else
    /// `c_proj(act(c_fc(x)))`.
    public var gatedFeedForward = false
    /// The feed-forward's hidden width (`n_inner`); `nil`: 4 x ``embeddingSize``. ``feedForwardWidth`` resolves it.
    public var feedForwardSize: Int?
    /// Learnable gains of the QK-norm, one `[D]` for the queries and one for the keys (Qwen3's `q_norm`, `k_norm`).
    public var qkNormAffine = false
    /// Channels per attention head (`head_dim`); `nil`: ``embeddingSize`` / ``headCount``. ``headSize`` resolves it.
    public var headDimension: Int?
    /// How the rotary frequencies are rescaled for a longer context (Llama 3's, or linear); `nil`: not at all.
    public var ropeScaling: RopeScaling?

    public init(modelType: ModelType, vocabSize: Int, blockSize: Int) {
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.blockSize = blockSize
    }

    /// The bigram model of `vocabSize` tokens.
    public static func bigram(vocabSize: Int, blockSize: Int = 8) -> ModelConfiguration {
        ModelConfiguration(modelType: .bigram, vocabSize: vocabSize, blockSize: blockSize)
    }

    /// Channels per attention head: ``headDimension``, else ``embeddingSize`` / ``headCount``.
    public var headSize: Int { headDimension ?? (headCount > 0 ? embeddingSize / headCount : 0) }

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
            if headDimension == nil, embeddingSize % headCount != 0 {
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
        let c = embeddingSize, v = vocabSize, qkv = packedQKV.width, heads = packedQKV.queryWidth
        let f = feedForwardWidth, inputs = gatedFeedForward ? 2 : 1  // c_fc (and c_up)
        let norm = !normAffine ? 0 : self.norm == .layerNorm && bias ? 2 * c : c
        let perLayer = try sum([
            norm, try product(qkv, c), attentionBias ? qkv : 0, try product(c, heads), bias ? c : 0,  // attention
            qkNorm && qkNormAffine ? 2 * headSize : 0,
            norm, try product(inputs, f, c), bias ? try product(inputs, f) : 0, try product(c, f), bias ? c : 0,  // feed-forward
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
        case gatedFeedForward = "gated_mlp", feedForwardSize = "n_inner", qkNormAffine = "qk_norm_affine"
        case headDimension = "head_dim", ropeScaling = "rope_scaling"
    }

    /// The keys every versioned file holds: this package has written all of them since format 1.
    static let keysOfEveryVersion: [CodingKeys] = [
        .modelType, .vocabSize, .blockSize, .layerCount, .headCount, .embeddingSize, .dropout, .bias, .attentionBias,
        .lmHeadBias, .activation, .tiedEmbeddings,
    ]
    /// The keys format 3 adds, written whenever it is (`rope_theta` with rotary positions, `logit_softcap` when set).
    static let keysOfVersion3: [CodingKeys] = [
        .positionEncoding, .norm, .normAffine, .normEpsilon, .qkNorm, .keyValueHeadCount, .embeddingNorm, .zeroInitProjections,
    ]
    /// The keys format 4 adds, written whenever it is (`rope_scaling` when set).
    static let keysOfVersion4: [CodingKeys] = [.gatedFeedForward, .feedForwardSize, .qkNormAffine, .headDimension]

    /// Reads a file of any format version strictly: a value of the wrong type or an unknown one is an error naming its
    /// key, and so is a missing key that the file's version always holds. A file without `format_version` is nanoGPT's
    /// `GPTConfig` (`vocab_size`, `block_size`, and for a GPT `n_layer`, `n_head`, `n_embd`), whose other fields
    /// default as nanoGPT's model has them (exact GELU, tied, biases per `bias`). A newer version is read as far as
    /// this code knows it, and ``validate()`` refuses it.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version: Int?
        do {
            version = try c.decodeIfPresent(Int.self, forKey: .formatVersion)
        } catch {
            throw DecodingError.typeMismatch(Int.self, .init(codingPath: c.codingPath + [CodingKeys.formatVersion],
                                                             debugDescription: "is not an integer", underlyingError: error))
        }
        if let version, version < 1 {
            throw DecodingError.dataCorruptedError(forKey: .formatVersion, in: c, debugDescription: "must be 1 or more, got \(version)")
        }
        formatVersion = version ?? 1
        let versioned = version.map { $0 <= Self.currentFormatVersion } ?? false
        var required: [CodingKeys] = versioned
            ? Self.keysOfEveryVersion + (formatVersion >= 3 ? Self.keysOfVersion3 : []) + (formatVersion >= 4 ? Self.keysOfVersion4 : [])
            : [.vocabSize, .blockSize]
        /// The value under `key`: a required one may be neither missing nor null; others default when absent. A value
        /// that does not read as `Value` is an error naming the key.
        func value<Value: Decodable>(_ key: CodingKeys, or fallback: @autoclosure () -> Value) throws -> Value {
            if required.contains(key), !c.contains(key) {
                throw DecodingError.keyNotFound(key, .init(codingPath: c.codingPath, debugDescription:
                    "format \(version.map(String.init) ?? "nanoGPT") always has \(key.stringValue)"))
            }
            do {
                return required.contains(key) ? try c.decode(Value.self, forKey: key) : try c.decodeIfPresent(Value.self, forKey: key) ?? fallback()
            } catch {
                // Foundation throws a number that does not fit (1.5 for an Int) as an error of its own, not a DecodingError.
                if case DecodingError.keyNotFound = error { throw error }
                throw DecodingError.typeMismatch(Value.self, .init(codingPath: c.codingPath + [key], debugDescription:
                    "is not \(Self.describe(Value.self))", underlyingError: error))
            }
        }
        modelType = try value(.modelType, or: .gpt)
        if version == nil, modelType == .gpt { required += [.layerCount, .headCount, .embeddingSize] }
        vocabSize = try value(.vocabSize, or: 0)
        blockSize = try value(.blockSize, or: 0)
        layerCount = try value(.layerCount, or: 0)
        headCount = try value(.headCount, or: 0)
        embeddingSize = try value(.embeddingSize, or: 0)
        dropout = try value(.dropout, or: 0)
        bias = try value(.bias, or: true)
        attentionBias = try value(.attentionBias, or: bias)
        lmHeadBias = try value(.lmHeadBias, or: false)
        // No key (nanoGPT's own configuration): nanoGPT's exact GELU. Before format version 2 `gelu` was the tanh form.
        let activation: Activation = try value(.activation, or: .gelu)
        self.activation = activation == .gelu && formatVersion < 2 && c.contains(.activation) ? .geluTanh : activation
        tiedEmbeddings = try value(.tiedEmbeddings, or: true)
        positionEncoding = try value(.positionEncoding, or: .learned)
        if positionEncoding == .rope, version.map({ $0 >= 3 }) == true, !c.contains(.ropeTheta) {
            throw DecodingError.keyNotFound(CodingKeys.ropeTheta, .init(codingPath: c.codingPath, debugDescription:
                "format 3 has rope_theta with rotary positions"))
        }
        ropeTheta = try value(.ropeTheta, or: 10_000)
        norm = try value(.norm, or: .layerNorm)
        normAffine = try value(.normAffine, or: true)
        normEpsilon = try value(.normEpsilon, or: 1e-5)
        qkNorm = try value(.qkNorm, or: false)
        keyValueHeadCount = required.contains(.keyValueHeadCount) ? try value(.keyValueHeadCount, or: 0) as Int
            : try value(.keyValueHeadCount, or: nil) as Int?
        embeddingNorm = try value(.embeddingNorm, or: false)
        logitSoftcap = try value(.logitSoftcap, or: nil) as Float?
        zeroInitProjections = try value(.zeroInitProjections, or: false)
        gatedFeedForward = try value(.gatedFeedForward, or: false)
        qkNormAffine = try value(.qkNormAffine, or: false)
        // Format 4 writes both resolved (never null); a file may leave them out before that.
        feedForwardSize = required.contains(.feedForwardSize) ? try value(.feedForwardSize, or: 0) as Int
            : try value(.feedForwardSize, or: nil) as Int?
        headDimension = required.contains(.headDimension) ? try value(.headDimension, or: 0) as Int
            : try value(.headDimension, or: nil) as Int?
        ropeScaling = try value(.ropeScaling, or: nil) as RopeScaling?
        // Read in the current meaning from here on; a newer version is kept so that validate() refuses it.
        if formatVersion < Self.currentFormatVersion { formatVersion = Self.currentFormatVersion }
    }
}

extension ModelConfiguration {
    /// What a value of `type` is, for an error: `an integer`, `one of relu, gelu, gelu_tanh, relu2`.
    static func describe(_ type: Any.Type) -> String {
        func oneOf(_ values: [String]) -> String { "one of " + values.joined(separator: ", ") }
        return switch type {
        case is Int.Type, is Int?.Type: "an integer"
        case is Float.Type, is Float?.Type: "a number"
        case is Bool.Type: "true or false"
        case is ModelType.Type: oneOf([ModelType.bigram, .gpt].map(\.rawValue))
        case is Activation.Type: oneOf(Activation.allCases.map(\.rawValue))
        case is PositionEncoding.Type: oneOf(PositionEncoding.allCases.map(\.rawValue))
        case is Norm.Type: oneOf(Norm.allCases.map(\.rawValue))
        case is RopeScaling?.Type: "null or an object with rope_type " + oneOf(RopeScaling.Kind.allCases.map(\.rawValue))
        default: "a \(type)"
        }
    }
}

/// A byte count as `1.5 GB`, `320 MB` or `12 KB`.
public func formatBytes(_ bytes: Int) -> String {
    let value = Double(bytes)
    if value >= 1e9 { return String(format: "%.1f GB", value / 1e9) }
    if value >= 1e6 { return String(format: "%.0f MB", value / 1e6) }
    return String(format: "%.0f KB", value / 1e3)
}
