import Foundation

/// llama.cpp's `llama`, `qwen2` and `qwen3` architectures: the Hugging Face families of the same names
/// (``HuggingFaceFamily``), whose options are read and written through the family's own `config.json` reader and
/// writer. GGUF's keys are the `config.json` keys renamed (``configKeys``), its tensors transformers' renamed
/// (``LlamaCppNames``), and the converter's one change of values undone: for `llama`, llama.cpp's
/// `convert_hf_to_gguf.py` (`LlamaModel.permute`) reorders each head's rows of `q_proj` and `k_proj` from
/// transformers' halves (`x[i]` turns with `x[i + d/2]`) to interleaved pairs (`x[2i]` with `x[2i+1]`), the layout
/// of its rotary kernel; `qwen2` and `qwen3` run the halves layout (NEOX) and are stored as they are.
enum LlamaCppFamilies {
    /// The families GGUF holds, in the order export tries them.
    static let families: [HuggingFaceFamily] = [.llama, .qwen3, .qwen2]

    /// `config.json` keys and the GGUF keys (after `ARCH.`) that hold the same number, as gguf-py's `constants.py`
    /// names them: integers as uint32, the others as float32.
    static let configKeys: [(config: String, gguf: String, isInteger: Bool)] = [
        ("max_position_embeddings", "context_length", true), ("hidden_size", "embedding_length", true),
        ("num_hidden_layers", "block_count", true), ("intermediate_size", "feed_forward_length", true),
        ("num_attention_heads", "attention.head_count", true), ("num_key_value_heads", "attention.head_count_kv", true),
        ("head_dim", "attention.key_length", true), ("rms_norm_eps", "attention.layer_norm_rms_epsilon", false),
        ("rope_theta", "rope.freq_base", false),
    ]

    // MARK: - Reading

    /// The family, configuration and weights (this package's names) of a GGUF file of architecture `family`.
    static func read(_ file: GGUF.File, family: HuggingFaceFamily, vocabularySize: Int, source: String) throws
        -> (configuration: ModelConfiguration, tensors: StateDict) {
        let arch = family.rawValue
        var config: [String: Any] = ["model_type": arch, "vocab_size": try file.integer("\(arch).vocab_size") ?? vocabularySize,
                                     "hidden_act": "silu", "tie_word_embeddings": file.tensor("output.weight") == nil]
        for key in configKeys {
            let ggufKey = "\(arch).\(key.gguf)"
            if key.isInteger {
                config[key.config] = try file.integer(ggufKey)
            } else if let value = try file.float(ggufKey) {
                config[key.config] = value
            }
        }
        if config["rope_theta"] == nil { config["rope_theta"] = 10_000.0 }  // llama.cpp's default
        if family == .llama {
            config["attention_bias"] = file.tensor("blk.0.attn_q.bias") != nil
            config["mlp_bias"] = file.tensor("blk.0.ffn_up.bias") != nil
        }
        if let type = try file.string("\(arch).rope.scaling.type"), type != "none" {
            guard type == "linear", let factor = try file.float("\(arch).rope.scaling.factor") else {
                throw GPTError.invalidGGUF(field: "\(arch).rope.scaling.type", reason:
                    "is \(String(type.prefix(40)).debugDescription); this package computes RoPE scaling none and linear (with its factor)")
            }
            config["rope_scaling"] = ["rope_type": "linear", "factor": factor]
        }
        if file.tensor("rope_freqs.weight") != nil {
            throw GPTError.invalidGGUF(field: "rope_freqs.weight", reason:
                "holds per-frequency RoPE factors (llama3-style scaling), which this reader does not turn back into their parameters")
        }
        let c: ModelConfiguration
        do {
            let data = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
            c = try family.configuration(JSONField(OrderedJSON(parsing: data)))
        } catch let error as JSONFieldError {
            let key = configKeys.first { error.path.hasPrefix($0.config) }.map { "\(arch).\($0.gguf)" } ?? error.path
            throw GPTError.invalidGGUF(field: key, reason: error.reason)
        }
        try c.validate()
        if let rotated = try file.integer("\(arch).rope.dimension_count"), rotated != c.headSize {
            throw GPTError.invalidGGUF(field: "\(arch).rope.dimension_count", reason:
                "is \(rotated) of a head of \(c.headSize): this package rotates every channel of a head")
        }
        var stored: StateDict = [:]
        for tensor in file.tensors {
            guard let name = LlamaCppNames.family.sourceName(tensor.name) else {
                throw GPTError.invalidGGUF(field: tensor.name, reason: "is not a tensor of llama.cpp's \(arch) this package reads")
            }
            var values = file.values(tensor)
            if family == .llama, tensor.name.contains(".attn_q.") || tensor.name.contains(".attn_k.") {
                values = permuted(values, shape: tensor.shape, headSize: c.headSize, toLlamaCpp: false)
            }
            stored[name] = (tensor.shape, values)
        }
        let tensors = try HuggingFaceFamily.nativeTensors(stored, table: family.tensorTable(c), family: arch, source: source)
        return (c, tensors)
    }

    /// `values` (`shape` `[heads · d, …]`) with each head's rows reordered: to llama.cpp's interleaved pairs (row
    /// `2i + j` of a head is transformers' `j · d/2 + i`), or back.
    static func permuted(_ values: [Float], shape: [Int], headSize d: Int, toLlamaCpp: Bool) -> [Float] {
        let width = shape.dropFirst().reduce(1, *), half = d / 2
        var out = values
        for head in 0..<(shape[0] / d) {
            for i in 0..<half {
                for j in 0..<2 {
                    let interleaved = (head * d + 2 * i + j) * width, halves = (head * d + j * half + i) * width
                    let (to, from) = toLlamaCpp ? (interleaved, halves) : (halves, interleaved)
                    out[to..<(to + width)] = values[from..<(from + width)]
                }
            }
        }
        return out
    }

    // MARK: - Writing

    /// The family of ``families`` that holds `c` exactly, `preferred` first; throws naming what keeps `c` from the
    /// nearest. llama3-style RoPE scaling is refused: llama.cpp wants it as a tensor of factors.
    static func family(for c: ModelConfiguration, preferring preferred: String?) throws -> HuggingFaceFamily {
        if c.ropeScaling?.kind == .llama3 {
            throw GPTError.invalidConfiguration(field: "rope_scaling", reason:
                "is llama3's, which GGUF holds as a rope_freqs tensor this exporter does not write")
        }
        return try HuggingFaceFamily.representing(c, preferring: preferred.flatMap(HuggingFaceFamily.init(rawValue:)),
                                                  among: families)
    }

    /// The architecture's metadata and tensors of `model`: matrices stored as `type` (Q8_0 only where rows are
    /// whole blocks of 32, else f32), vectors as f32; `extraRows` zero rows appended to the embedding and head (the
    /// tokens a vocabulary adds past the model's).
    static func export(_ model: GPTLanguageModel, family: HuggingFaceFamily, type: GGUF.TensorType, extraRows: Int) throws
        -> (metadata: [(key: String, value: GGUF.Value)], tensors: [GGUF.TensorEntry]) {
        let c = model.configuration, arch = family.rawValue
        let config = try JSONSerialization.jsonObject(with: family.configJSON(c, endOfText: nil)) as? [String: Any] ?? [:]
        var metadata: [(key: String, value: GGUF.Value)] = [
            ("general.architecture", .string(arch)), ("general.name", .string("swift-gpt")),
            ("general.file_type", .uint32(type.fileType)), ("general.alignment", .uint32(UInt32(GGUF.alignment))),
            ("\(arch).vocab_size", .uint32(UInt32(c.vocabSize + extraRows))),
        ]
        let rotary = config["rope_parameters"] as? [String: Any] ?? [:]
        for key in configKeys {
            guard let number = (config[key.config] ?? rotary[key.config]) as? NSNumber else { continue }
            metadata.append(("\(arch).\(key.gguf)", key.isInteger ? .uint32(number.uint32Value) : .float32(number.floatValue)))
        }
        metadata.append(("\(arch).attention.value_length", .uint32(UInt32(c.headSize))))
        metadata.append(("\(arch).rope.dimension_count", .uint32(UInt32(c.headSize))))
        if let scaling = c.ropeScaling {
            metadata.append(("\(arch).rope.scaling.type", .string("linear")))
            metadata.append(("\(arch).rope.scaling.factor", .float32(scaling.factor)))
        }
        var native: StateDict = [:]
        for (name, tensor) in model.namedParameters() { native[name] = (tensor.shape, tensor.values) }
        let transformers = family.exportTensors(native, configuration: c)
        var tensors: [GGUF.TensorEntry] = []
        for translation in family.tensorTable(c) {
            for part in translation.parts {
                var (shape, values) = transformers[part.name]!
                let name = LlamaCppNames.family.ggufName(part.name)!
                if family == .llama, name.contains(".attn_q.") || name.contains(".attn_k.") {
                    values = permuted(values, shape: shape, headSize: c.headSize, toLlamaCpp: true)
                }
                if name == "token_embd.weight" || name == "output.weight", extraRows > 0 {
                    shape[0] += extraRows
                    values += [Float](repeating: 0, count: extraRows * shape[1])
                }
                tensors.append(GGUF.TensorEntry(name: name, shape: shape, type: type.storage(for: shape), values: values))
            }
        }
        return (metadata, tensors)
    }
}
