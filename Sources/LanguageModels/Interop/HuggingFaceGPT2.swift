import Foundation

/// A GPT-2 family model saved by Hugging Face transformers (`save_pretrained`): `config.json` with `model_type`
/// "gpt2", and `model.safetensors` (or shards listed in `model.safetensors.index.json`) whose linear layers are
/// GPT-2's `Conv1D`, stored `[in, out]`, the transpose of this package's `[out, in]`.
public enum HuggingFaceGPT2 {
    /// The `Conv1D` weights of each block, transposed on the way in.
    static let conv1DWeights = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"]

    /// Whether `directory` holds a Hugging Face GPT-2 (`config.json` naming `model_type` "gpt2").
    public static func isModelDirectory(_ directory: URL) -> Bool {
        let url = directory.appendingPathComponent("config.json")
        guard let data = (try? boundedContents(of: url, limit: maximumMetadataBytes)) ?? nil,
              let type = try? JSONField(OrderedJSON(parsing: data)).member("model_type").string() else { return false }
        return type == "gpt2"
    }

    /// The largest `config.json` or `model.safetensors.index.json` read (GPT-2 XL's index is 26 KB).
    static let maximumMetadataBytes = 1 << 24

    /// The configuration and the weights under this package's (nanoGPT's) names.
    public static func load(_ directory: URL) throws -> (configuration: ModelConfiguration, tensors: StateDict) {
        let path = directory.path
        let configURL = directory.appendingPathComponent("config.json")
        guard let data = try boundedContents(of: configURL, limit: maximumMetadataBytes) else {
            throw GPTError.invalidCheckpoint(path: path, reason: "config.json is missing")
        }
        let configuration = try self.configuration(configJSON: data, source: configURL.path)
        var tensors: StateDict = [:]
        for (name, tensor) in try storedTensors(directory) {
            var name = name
            if !name.hasPrefix("transformer."), name != "lm_head.weight" { name = "transformer." + name }
            if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { continue }  // mask buffers
            if name == "lm_head.weight" && configuration.tiedEmbeddings { continue }
            guard tensors[name] == nil else {
                throw GPTError.invalidCheckpoint(path: path, reason: "tensor \(name.prefix(100)) is stored twice")
            }
            tensors[name] = conv1DWeights.contains(where: name.hasSuffix) ? try transposed(tensor, name: name, path: path) : tensor
        }
        return (configuration, tensors)
    }

    /// Every tensor of the folder's `model.safetensors`, or of the shards its index lists (each shard holding exactly
    /// the tensors listed for it, none stored twice), under the names stored.
    static func storedTensors(_ directory: URL) throws -> StateDict {
        var tensors: StateDict = [:]
        for shard in try weightFiles(directory) {
            let stored = try SafeTensors.read(shard.file).tensors
            if let listed = shard.names, let name = listed.symmetricDifference(stored.keys).min() {
                throw GPTError.invalidCheckpoint(path: shard.file.path, reason: "tensor \(name.prefix(100)) is "
                    + (listed.contains(name) ? "listed for this shard in the index but not in it" : "in this shard but not listed for it in the index"))
            }
            for (name, tensor) in stored {
                guard tensors.updateValue(tensor, forKey: name) == nil else {
                    throw GPTError.invalidCheckpoint(path: shard.file.path, reason: "tensor \(name.prefix(100)) is stored twice")
                }
            }
        }
        return tensors
    }

    /// The configuration a transformers GPT-2 `config.json` describes. Every key read is typed: the shape's five
    /// integers are required; `n_inner` (null: 4 x `n_embd`), `activation_function` ("gelu_new"),
    /// `layer_norm_epsilon` (1e-5) and `tie_word_embeddings` (true) default as transformers' `GPT2Config` does; options
    /// that change GPT-2's computation (unscaled or layer-scaled attention, cross-attention) are refused. Other keys
    /// are left alone. `source` names the file in errors.
    public static func configuration(configJSON data: Data, source: String) throws -> ModelConfiguration {
        do {
            let file = JSONField(try OrderedJSON(parsing: data))
            let type = try file.member("model_type")
            guard try type.string() == "gpt2" else {
                throw type.fail("is \(String(try type.string().prefix(40)).debugDescription), not one this tool imports (\(HuggingFaceFamily.importedTypes))")
            }
            var configuration = ModelConfiguration(modelType: .gpt, vocabSize: try file.member("vocab_size").int(),
                                                   blockSize: try file.member("n_positions").int())
            (configuration.layerCount, configuration.headCount) = (try file.member("n_layer").int(), try file.member("n_head").int())
            let width = try file.member("n_embd")
            configuration.embeddingSize = try width.int()
            if let inner = try file.optionalMember("n_inner") {
                // Compared without computing 4 x n_embd, which overflows for an n_embd from a hostile file.
                let value = try inner.int()
                guard value % 4 == 0, value / 4 == configuration.embeddingSize else {
                    throw inner.fail("is \(value), not 4 x n_embd, the only feed-forward width this package builds")
                }
            }
            if let epsilon = try file.optionalMember("layer_norm_epsilon"), abs(try epsilon.double() - 1e-5) > 1e-12 {
                throw epsilon.fail("is \(try epsilon.double()), not 1e-5, the only one this package's layer norm uses")
            }
            let activation = try file.optionalMember("activation_function")
            switch try activation?.string() ?? "gelu_new" {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": configuration.activation = .geluTanh
            case "gelu": configuration.activation = .gelu
            case "relu": configuration.activation = .relu
            case let other: throw activation!.fail("is \(String(other.prefix(40)).debugDescription), not one this package has")
            }
            configuration.tiedEmbeddings = try file.optionalMember("tie_word_embeddings")?.bool() ?? true
            for (key, expected, reason) in [("scale_attn_weights", true, "attention scores are scaled by 1/sqrt(head size) here"),
                                            ("scale_attn_by_inverse_layer_idx", false, "this package does not scale by layer"),
                                            ("add_cross_attention", false, "this package has no cross-attention")] {
                if let field = try file.optionalMember(key), try field.bool() != expected { throw field.fail("must be \(expected): \(reason)") }
            }
            (configuration.bias, configuration.attentionBias, configuration.lmHeadBias) = (true, true, false)
            return configuration
        } catch let error as JSONFieldError {
            throw GPTError.invalidCheckpoint(path: source, reason: "\(error)")
        }
    }

    /// The fields transformers' GPT-2 cannot hold: a head bias, ReLU², any option of the modern layout.
    static func unsupported(_ c: ModelConfiguration) -> [String] {
        ModelLayout.modernFields + (c.lmHeadBias ? ["lm_head_bias"] : []) + (c.activation == .relu2 ? ["activation"] : [])
    }

    /// The `config.json` and tensors of `model` in transformers' GPT-2 form (`GPT2LMHeadModel.from_pretrained`):
    /// Conv1D weights transposed, zeros for biases the model does not have (GPT-2 has them everywhere), `lm_head`
    /// omitted when tied. Throws naming the field (and the training flag that avoids it) GPT-2 cannot represent.
    public static func export(_ model: GPTLanguageModel, endOfText: Int? = nil) throws -> (config: [String: Any], tensors: [(name: String, shape: [Int], values: [Float])]) {
        let c = model.configuration
        try ModelLayout.nanoGPT.require(c, for: "transformers' GPT-2", only: unsupported(c))
        let activation: String
        switch c.activation {
        case .geluTanh: activation = "gelu_new"
        case .gelu: activation = "gelu"
        case .relu, .relu2: activation = "relu"
        case .silu: activation = "silu"
        }
        let config: [String: Any] = [
            "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": c.vocabSize, "n_positions": c.blockSize,
            "n_embd": c.embeddingSize, "n_layer": c.layerCount, "n_head": c.headCount, "n_inner": NSNull(),
            "activation_function": activation, "layer_norm_epsilon": 1e-5, "tie_word_embeddings": c.tiedEmbeddings,
            "resid_pdrop": Double(c.dropout), "embd_pdrop": Double(c.dropout), "attn_pdrop": Double(c.dropout),
            "initializer_range": 0.02, "scale_attn_weights": true, "use_cache": true,
            // GPT-2's defaults (50256) would name a token a small vocabulary does not have.
            "bos_token_id": endOfText ?? NSNull(), "eos_token_id": endOfText ?? NSNull(),
        ]
        let tensors = try gpt2Tensors(model).map { tensor in
            guard conv1DWeights.contains(where: tensor.name.hasSuffix) else { return tensor }
            let moved = try transposed((tensor.shape, tensor.values), name: tensor.name, path: "export")
            return (tensor.name, moved.shape, moved.values)
        }
        return (config, tensors)  // in gpt2Tensors' order: by name
    }

    /// `model`'s tensors under nanoGPT's names, `[out, in]` as this package stores them, with every bias GPT-2 has:
    /// zeros where the model has none (the same function). Sorted by name.
    static func gpt2Tensors(_ model: GPTLanguageModel) throws -> [(name: String, shape: [Int], values: [Float])] {
        let c = model.configuration
        var tensors = model.namedParameters().map { (name: $0.name, shape: $0.tensor.shape, values: $0.tensor.values) }
        let present = Set(tensors.map(\.name))
        var widths = [("transformer.ln_f.bias", c.embeddingSize)]
        for layer in 0..<c.layerCount {
            let prefix = "transformer.h.\(layer)"
            widths += [("\(prefix).ln_1.bias", c.embeddingSize), ("\(prefix).attn.c_attn.bias", c.packedQKV.width),
                       ("\(prefix).attn.c_proj.bias", c.embeddingSize), ("\(prefix).ln_2.bias", c.embeddingSize),
                       ("\(prefix).mlp.c_fc.bias", 4 * c.embeddingSize), ("\(prefix).mlp.c_proj.bias", c.embeddingSize)]
        }
        for (name, width) in widths where !present.contains(name) {
            tensors.append((name, [width], [Float](repeating: 0, count: width)))
        }
        return tensors.sorted { $0.name < $1.name }
    }

    /// `model.safetensors`, or the shards `model.safetensors.index.json` lists, each with the tensors listed for it.
    static func weightFiles(_ directory: URL) throws -> [(file: URL, names: Set<String>?)] {
        let single = directory.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: single.path) { return [(single, nil)] }
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        guard let data = try boundedContents(of: index, limit: maximumMetadataBytes) else {
            throw GPTError.invalidCheckpoint(path: directory.path, reason: "no model.safetensors (nor an index of shards)")
        }
        return try shards(indexJSON: data, source: index.path).map { (directory.appendingPathComponent($0.file), $0.names) }
    }

    /// The shards a `model.safetensors.index.json` lists, by file name, with the tensors each holds: `weight_map` is an
    /// object of tensor names to file names inside the folder (no path, not hidden). `source` names it in errors.
    public static func shards(indexJSON data: Data, source: String) throws -> [(file: String, names: Set<String>)] {
        do {
            var byFile: [String: Set<String>] = [:], seen = Set<String>()
            for (tensor, field) in try JSONField(try OrderedJSON(parsing: data)).member("weight_map").members() {
                let file = try field.string()
                guard !file.isEmpty, !file.contains("/"), !file.contains("\\"), !file.hasPrefix("."), !file.contains("\0") else {
                    throw field.fail("names a file outside the folder")
                }
                guard seen.insert(tensor).inserted else { throw field.fail("lists a tensor twice") }
                byFile[file, default: []].insert(tensor)
            }
            guard !byFile.isEmpty else { throw JSONFieldError(path: "weight_map", reason: "lists no tensor") }
            return byFile.keys.sorted().map { ($0, byFile[$0]!) }
        } catch let error as JSONFieldError {
            throw GPTError.invalidCheckpoint(path: source, reason: "\(error)")
        }
    }

    static func transposed(_ tensor: (shape: [Int], values: [Float]), name: String, path: String) throws -> (shape: [Int], values: [Float]) {
        guard tensor.shape.count == 2 else {
            throw GPTError.invalidCheckpoint(path: path, reason: "\(name.prefix(100)) is not a matrix")
        }
        let (rows, columns) = (tensor.shape[0], tensor.shape[1])
        var out = [Float](repeating: 0, count: tensor.values.count)
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = tensor.values[r * columns + c] } }
        return ([columns, rows], out)
    }
}
