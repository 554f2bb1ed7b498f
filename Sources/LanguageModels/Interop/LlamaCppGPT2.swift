import Foundation

/// A GPT in llama.cpp's `gpt2` architecture (`src/models/gpt2.cpp`): learned positions, pre-norm LayerNorm blocks with
/// biases everywhere, one fused q/k/v matrix, GELU (its tanh form) in the feed-forward, an optional untied head.
///
/// Tensor names (`ne` order, the fastest dimension first; this package's `[out, in]` matrices keep their bytes):
/// `token_embd.weight {C, V}`, `position_embd.weight {C, T}`, per block `blk.N.attn_norm`, `blk.N.attn_qkv {C, 3C}`
/// (rows q, then k, then v, as nanoGPT's `c_attn`), `blk.N.attn_output {C, C}`, `blk.N.ffn_norm`,
/// `blk.N.ffn_up {C, 4C}`, `blk.N.ffn_down {4C, C}`, then `output_norm` and `output.weight {C, V}` (absent when
/// tied: llama.cpp then reads `token_embd`).
public enum LlamaCppGPT2 {
    /// The fields llama.cpp's `gpt2` cannot hold: a head bias, an activation other than GELU, any option of the
    /// modern layout.
    static func unsupported(_ c: ModelConfiguration) -> [String] {
        ModelLayout.modernFields + (c.lmHeadBias ? ["lm_head_bias"] : [])
            + ([.relu, .relu2, .silu].contains(c.activation) ? ["activation"] : [])
    }

    /// Whether llama.cpp runs `model` as trained. `nil` when it does; otherwise the difference in a sentence
    /// (the exact GELU, which llama.cpp's `gpt2` computes in its tanh form).
    public static func approximation(_ model: GPTLanguageModel) -> String? {
        model.configuration.activation == .gelu
            ? "llama.cpp's gpt2 computes GELU in its tanh form; this model uses the exact GELU, so llama.cpp's "
                + "outputs differ slightly from this tool's (train with --activation gelu_tanh for the same function)"
            : nil
    }

    /// The GGUF metadata and tensors of `model` with `tokenizer`: 2-D weights stored as `type`, norms and biases as
    /// f32. Throws ``GPTError/invalidConfiguration(field:reason:)`` naming the field (and the training flag that
    /// avoids it) for a layout llama.cpp's `gpt2` cannot run: a head bias, ReLU or ReLU².
    public static func export(_ model: GPTLanguageModel, tokenizer: Tokenizer, type: GGUF.TensorType = .f32) throws
        -> (metadata: [(key: String, value: GGUF.Value)], tensors: [GGUF.TensorEntry]) {
        let c = model.configuration
        try ModelLayout.nanoGPT.require(c, for: "llama.cpp's gpt2", only: unsupported(c))
        let vocabulary = try LlamaCppVocabulary(tokenizer, modelVocabularySize: c.vocabSize)
        let extraRows = vocabulary.tokens.count - c.vocabSize
        var tensors: [GGUF.TensorEntry] = []
        for tensor in try HuggingFaceGPT2.gpt2Tensors(model) {
            var (shape, values) = (tensor.shape, tensor.values)
            let name = try ggufName(tensor.name)
            if name == "token_embd.weight" || name == "output.weight", extraRows > 0 {
                // The appended end-of-text token: a zero embedding, and a zero logit.
                shape[0] += extraRows
                values += [Float](repeating: 0, count: extraRows * shape[1])
            }
            tensors.append(GGUF.TensorEntry(name: name, shape: shape, type: type.storage(for: shape), values: values))
        }
        let metadata: [(key: String, value: GGUF.Value)] = [
            ("general.architecture", .string("gpt2")),
            ("general.name", .string("swift-gpt")),
            ("general.file_type", .uint32(type.fileType)),
            ("general.alignment", .uint32(UInt32(GGUF.alignment))),
            ("gpt2.context_length", .uint32(UInt32(c.blockSize))),
            ("gpt2.embedding_length", .uint32(UInt32(c.embeddingSize))),
            ("gpt2.feed_forward_length", .uint32(UInt32(4 * c.embeddingSize))),
            ("gpt2.block_count", .uint32(UInt32(c.layerCount))),
            ("gpt2.attention.head_count", .uint32(UInt32(c.headCount))),
            ("gpt2.attention.head_count_kv", .uint32(UInt32(c.headCount))),
            ("gpt2.attention.layer_norm_epsilon", .float32(1e-5)),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .strings(vocabulary.tokens)),
            ("tokenizer.ggml.token_type", .int32s(vocabulary.types.map(\.rawValue))),
            ("tokenizer.ggml.merges", .strings(vocabulary.merges)),
            ("tokenizer.ggml.bos_token_id", .uint32(UInt32(vocabulary.endOfText))),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(vocabulary.endOfText))),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
            ("tokenizer.ggml.add_eos_token", .bool(false)),
        ]
        return (metadata, tensors)
    }

    /// The configuration and weights (nanoGPT's names) of a GGUF file of architecture `gpt2`: its `gpt2.*` keys read
    /// as transformers' GPT-2 `config.json` (by the same reader: one definition of what GPT-2 allows), the tied head
    /// when `output.weight` is absent.
    static func read(_ file: GGUF.File, vocabularySize: Int) throws -> (configuration: ModelConfiguration, tensors: StateDict) {
        var config: [String: Any] = ["model_type": "gpt2", "activation_function": "gelu_new",
                                     "tie_word_embeddings": file.tensor("output.weight") == nil,
                                     "vocab_size": try file.integer("gpt2.vocab_size") ?? vocabularySize]
        for (key, ggufKey) in [("n_positions", "context_length"), ("n_embd", "embedding_length"), ("n_layer", "block_count"),
                               ("n_head", "attention.head_count"), ("n_inner", "feed_forward_length")] {
            config[key] = try file.integer("gpt2.\(ggufKey)")
        }
        if let epsilon = try file.float("gpt2.attention.layer_norm_epsilon") { config["layer_norm_epsilon"] = epsilon }
        if let kv = try file.integer("gpt2.attention.head_count_kv"), kv != config["n_head"] as? Int {
            throw GPTError.invalidGGUF(field: "gpt2.attention.head_count_kv", reason: "is \(kv): gpt2 has as many key/value heads as heads")
        }
        let data = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
        let c = try HuggingFaceGPT2.configuration(configJSON: data, source: "the gpt2.* keys")
        var tensors: StateDict = [:]
        for tensor in file.tensors {
            guard let name = LlamaCppNames.gpt2.sourceName(tensor.name) else {
                throw GPTError.invalidGGUF(field: tensor.name, reason: "is not a tensor of llama.cpp's gpt2")
            }
            tensors[name] = (tensor.shape, file.values(tensor))
        }
        return (c, tensors)
    }

    /// llama.cpp's name for one of nanoGPT's (`transformer.h.3.mlp.c_fc.bias` is `blk.3.ffn_up.bias`).
    static func ggufName(_ name: String) throws -> String {
        guard let renamed = LlamaCppNames.gpt2.ggufName(name) else {
            throw GPTError.invalidConfiguration(field: String(name.prefix(80)), reason: "has no llama.cpp gpt2 name")
        }
        return renamed
    }
}
