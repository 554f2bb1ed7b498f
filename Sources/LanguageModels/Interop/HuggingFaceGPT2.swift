import Foundation

/// A GPT-2 family model saved by Hugging Face transformers (`save_pretrained`): `config.json` with `model_type`
/// "gpt2", and `model.safetensors` (or shards listed in `model.safetensors.index.json`) whose linear layers are
/// GPT-2's `Conv1D`, stored `[in, out]`, the transpose of this package's `[out, in]`.
public enum HuggingFaceGPT2 {
    /// The `Conv1D` weights of each block, transposed on the way in.
    static let conv1DWeights = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"]

    /// Whether `directory` holds a Hugging Face GPT-2 (`config.json` naming `model_type` "gpt2").
    public static func isModelDirectory(_ directory: URL) -> Bool {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("config.json").path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["model_type"] as? String == "gpt2"
    }

    /// The configuration and the weights under this package's (nanoGPT's) names.
    public static func load(_ directory: URL) throws -> (configuration: ModelConfiguration, tensors: StateDict) {
        let path = directory.path
        func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: path, reason: reason) }
        let configURL = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw fail("config.json is missing or not a JSON object")
        }
        func integer(_ key: String) throws -> Int {
            guard let value = object[key] as? Int else { throw fail("config.json has no integer \(key)") }
            return value
        }
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: try integer("vocab_size"),
                                               blockSize: try integer("n_positions"))
        (configuration.layerCount, configuration.headCount, configuration.embeddingSize) =
            (try integer("n_layer"), try integer("n_head"), try integer("n_embd"))
        if let inner = object["n_inner"] as? Int, inner != 4 * configuration.embeddingSize {
            throw fail("n_inner \(inner) is not 4 x n_embd, the only feed-forward width this package builds")
        }
        if let epsilon = object["layer_norm_epsilon"] as? Double, abs(epsilon - 1e-5) > 1e-12 {
            throw fail("layer_norm_epsilon \(epsilon) is not 1e-5, the only one this package's layer norm uses")
        }
        switch object["activation_function"] as? String ?? "gelu_new" {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": configuration.activation = .geluTanh
        case "gelu": configuration.activation = .gelu
        case "relu": configuration.activation = .relu
        case let other: throw fail("activation_function \(other.prefix(40)) is not one this package has")
        }
        configuration.tiedEmbeddings = object["tie_word_embeddings"] as? Bool ?? true
        (configuration.bias, configuration.attentionBias, configuration.lmHeadBias) = (true, true, false)
        var tensors: StateDict = [:]
        for file in try weightFiles(directory) {
            for (name, tensor) in try SafeTensors.read(file).tensors {
                var name = name
                if !name.hasPrefix("transformer."), name != "lm_head.weight" { name = "transformer." + name }
                if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { continue }  // mask buffers
                if name == "lm_head.weight" && configuration.tiedEmbeddings { continue }
                tensors[name] = conv1DWeights.contains(where: name.hasSuffix) ? try transposed(tensor, name: name, path: path) : tensor
            }
        }
        return (configuration, tensors)
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

    /// `model.safetensors`, or the shards `model.safetensors.index.json` lists.
    static func weightFiles(_ directory: URL) throws -> [URL] {
        let single = directory.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: single.path) { return [single] }
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        guard let data = FileManager.default.contents(atPath: index.path),
              let map = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["weight_map"] as? [String: String]
        else { throw GPTError.invalidCheckpoint(path: directory.path, reason: "no model.safetensors (nor an index of shards)") }
        let names = Set(map.values)
        guard names.allSatisfy({ !$0.contains("/") && !$0.hasPrefix(".") }) else {
            throw GPTError.invalidCheckpoint(path: index.path, reason: "a shard name points outside the directory")
        }
        return names.sorted().map { directory.appendingPathComponent($0) }
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
