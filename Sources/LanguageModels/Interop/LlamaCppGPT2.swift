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
    /// nanoGPT's names to llama.cpp's, one table for the whole file: the part after `transformer.h.N.` to the part
    /// after `blk.N.`, and the names outside the blocks.
    static let blockNames = [
        "ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
        "ln_2": "ffn_norm", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down",
    ]
    static let outerNames = [
        "transformer.wte": "token_embd", "transformer.wpe": "position_embd", "transformer.ln_f": "output_norm",
        "lm_head": "output",
    ]

    /// `general.file_type` (llama.cpp's `llama_ftype`: ALL_F32 0, MOSTLY_F16 1, MOSTLY_BF16 32).
    static func fileType(_ type: GGUF.TensorType) -> UInt32 {
        switch type {
        case .f32: 0
        case .f16: 1
        case .bf16: 32
        }
    }

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
            tensors.append(GGUF.TensorEntry(name: name, shape: shape, type: shape.count == 2 ? type : .f32, values: values))
        }
        let metadata: [(key: String, value: GGUF.Value)] = [
            ("general.architecture", .string("gpt2")),
            ("general.name", .string("swift-gpt")),
            ("general.file_type", .uint32(fileType(type))),
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

    /// llama.cpp's name for one of nanoGPT's (`transformer.h.3.mlp.c_fc.bias` is `blk.3.ffn_up.bias`).
    static func ggufName(_ name: String) throws -> String {
        let parts = name.split(separator: ".").map(String.init)
        guard let kind = parts.last, kind == "weight" || kind == "bias" else {
            throw GPTError.invalidConfiguration(field: name, reason: "has no llama.cpp gpt2 name")
        }
        let stem = parts.dropLast().joined(separator: ".")
        if let outer = outerNames[stem] { return "\(outer).\(kind)" }
        if parts.count >= 4, parts[0] == "transformer", parts[1] == "h", let layer = Int(parts[2]),
           let inner = blockNames[parts[3..<(parts.count - 1)].joined(separator: ".")] {
            return "blk.\(layer).\(inner).\(kind)"
        }
        throw GPTError.invalidConfiguration(field: String(name.prefix(80)), reason: "has no llama.cpp gpt2 name")
    }
}
