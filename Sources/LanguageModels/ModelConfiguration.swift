/// The shape of a model, saved as `config.json` with nanoGPT's keys (`vocab_size`, `block_size`, `n_layer`,
/// `n_head`, `n_embd`, `dropout`, `bias`).
///
/// Field names follow Swift in code and nanoGPT in JSON. ``validate()`` names the field of any configuration that
/// cannot work.
public struct ModelConfiguration: Codable, Equatable, Sendable {
    public enum ModelType: String, Codable, Sendable { case bigram, gpt }
    public enum Activation: String, Codable, Sendable, CaseIterable { case relu, gelu }

    /// The `config.json` layout version this code writes.
    public static let currentFormatVersion = 1

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

    /// Throws ``GPTError/invalidConfiguration(field:reason:)`` naming the first field that cannot work.
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> GPTError { .invalidConfiguration(field: field, reason: reason) }
        if formatVersion > Self.currentFormatVersion {
            throw fail("format_version", "is \(formatVersion), newer than this tool reads (\(Self.currentFormatVersion))")
        }
        if vocabSize < 1 { throw fail("vocab_size", "must be at least 1, got \(vocabSize)") }
        if blockSize < 1 { throw fail("block_size", "must be at least 1, got \(blockSize)") }
        guard modelType == .gpt else { return }
        if layerCount < 1 { throw fail("n_layer", "must be at least 1, got \(layerCount)") }
        if headCount < 1 { throw fail("n_head", "must be at least 1, got \(headCount)") }
        if embeddingSize < 1 { throw fail("n_embd", "must be at least 1, got \(embeddingSize)") }
        if embeddingSize % headCount != 0 {
            throw fail("n_embd", "(\(embeddingSize)) must be divisible by n_head (\(headCount))")
        }
        if !(dropout >= 0 && dropout < 1) { throw fail("dropout", "must be in [0, 1), got \(dropout)") }
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", modelType = "model_type", vocabSize = "vocab_size"
        case blockSize = "block_size", layerCount = "n_layer", headCount = "n_head", embeddingSize = "n_embd"
        case dropout, bias, attentionBias = "attention_bias", lmHeadBias = "lm_head_bias", activation
        case tiedEmbeddings = "tie_weights"
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
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? .gelu
        tiedEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tiedEmbeddings) ?? true
    }
}
