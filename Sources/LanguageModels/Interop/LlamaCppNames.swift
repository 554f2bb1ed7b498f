import Foundation

/// llama.cpp's tensor names (gguf-py's `constants.py`, `TENSOR_NAMES`) and the names of the checkpoints they come
/// from: the one rename table of each source, read one way on export and the other on import. A name is its
/// stem plus `.weight` or `.bias`; a block's stem is `PREFIX.N.inner` here and `blk.N.inner` there.
struct LlamaCppNames {
    /// The source's block prefix: `transformer.h` (nanoGPT) or `model.layers` (transformers' families).
    let blockPrefix: String
    /// The part after the block number, the source's to llama.cpp's.
    let blocks: [String: String]
    /// Stems outside the blocks.
    let outer: [String: String]

    /// nanoGPT's names (this package's own) and llama.cpp's `gpt2` (`src/models/gpt2.cpp`).
    static let gpt2 = LlamaCppNames(blockPrefix: "transformer.h", blocks: [
        "ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
        "ln_2": "ffn_norm", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down",
    ], outer: [
        "transformer.wte": "token_embd", "transformer.wpe": "position_embd", "transformer.ln_f": "output_norm",
        "lm_head": "output",
    ])

    /// transformers' Llama, Qwen2 and Qwen3 names and llama.cpp's `llama`, `qwen2` and `qwen3`.
    static let family = LlamaCppNames(blockPrefix: "model.layers", blocks: [
        "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
        "self_attn.k_norm": "attn_k_norm", "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    ], outer: ["model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output"])

    /// llama.cpp's name for the source's `name` (`model.layers.3.mlp.up_proj.weight` is `blk.3.ffn_up.weight`).
    func ggufName(_ name: String) -> String? {
        Self.rename(name, prefix: blockPrefix, blocks: blocks, outer: outer, to: "blk")
    }

    /// The source's name for llama.cpp's `name`.
    func sourceName(_ name: String) -> String? {
        func inverted(_ table: [String: String]) -> [String: String] { Dictionary(uniqueKeysWithValues: table.map { ($1, $0) }) }
        return Self.rename(name, prefix: "blk", blocks: inverted(blocks), outer: inverted(outer), to: blockPrefix)
    }

    private static func rename(_ name: String, prefix: String, blocks: [String: String], outer: [String: String],
                               to newPrefix: String) -> String? {
        guard let dot = name.lastIndex(of: "."), case let kind = name[name.index(after: dot)...],
              kind == "weight" || kind == "bias" else { return nil }
        let stem = String(name[..<dot])
        if let renamed = outer[stem] { return "\(renamed).\(kind)" }
        guard stem.hasPrefix(prefix + ".") else { return nil }
        let rest = stem.dropFirst(prefix.count + 1)
        guard let numberEnd = rest.firstIndex(of: "."), let layer = Int(rest[..<numberEnd]), layer >= 0,
              let inner = blocks[String(rest[rest.index(after: numberEnd)...])] else { return nil }
        return "\(newPrefix).\(layer).\(inner).\(kind)"
    }
}
