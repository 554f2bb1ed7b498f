/// Named tensors as a PyTorch `state_dict` saved with safetensors holds them.
public typealias StateDict = [String: (shape: [Int], values: [Float])]

/// The two PyTorch layouts a GPT's weights come in, and their translation into this package's (nanoGPT's) names.
///
/// - `lecture`: the lecture's gpt.py (`token_embedding_table.weight`, `blocks.0.sa.heads.0.key.weight`,
///   `blocks.0.ffwd.net.0.weight`, `ln_f.weight`, `lm_head.bias`, ...), with one key/query/value matrix per head:
///   these are folded into the packed `c_attn` matrix, queries first, then keys, then values, head by head.
/// - `nanoGPT`: nanoGPT's model.py (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, ...): the names
///   used here already; a tied `lm_head.weight` and the causal-mask buffers (`attn.bias`) are dropped.
public enum StateDictLayout: String, Sendable, CaseIterable {
    case lecture, nanoGPT = "nanogpt"

    /// The layout of a state dict, judged by its token embedding's name.
    public static func detect(_ tensors: StateDict) -> StateDictLayout {
        tensors["token_embedding_table.weight"] != nil ? .lecture : .nanoGPT
    }

    /// The tensors under this package's names, ready for ``NN/Module/loadWeights(_:source:)``.
    public func nativeTensors(_ tensors: StateDict, configuration: ModelConfiguration) throws -> StateDict {
        switch self {
        case .nanoGPT: return nanoGPTTensors(tensors, configuration: configuration)
        case .lecture: return try lectureTensors(tensors, configuration: configuration)
        }
    }

    private func nanoGPTTensors(_ tensors: StateDict, configuration: ModelConfiguration) -> StateDict {
        var result: StateDict = [:]
        for (name, tensor) in tensors {
            if name.hasSuffix(".attn.bias") && tensor.shape.count == 4 { continue }  // causal mask buffer
            if name.hasSuffix(".attn.masked_bias") { continue }
            if name == "lm_head.weight" && configuration.tiedEmbeddings { continue }
            result[name] = tensor
        }
        return result
    }

    private func lectureTensors(_ tensors: StateDict, configuration: ModelConfiguration) throws -> StateDict {
        let c = configuration.embeddingSize, heads = configuration.headCount, d = configuration.headSize
        var result: StateDict = [:]
        var consumed = Set<String>()
        func take(_ name: String) throws -> (shape: [Int], values: [Float]) {
            guard let tensor = tensors[name] else {
                throw GPTError.invalidCheckpoint(path: "state dict", reason: "tensor \(name) is missing")
            }
            consumed.insert(name)
            return tensor
        }
        func rename(_ from: String, _ to: String, optional: Bool = false) throws {
            if optional && tensors[from] == nil { return }
            result[to] = try take(from)
        }
        try rename("token_embedding_table.weight", "transformer.wte.weight")
        try rename("position_embedding_table.weight", "transformer.wpe.weight")
        for layer in 0..<configuration.layerCount {
            let from = "blocks.\(layer)", to = "transformer.h.\(layer)"
            for (old, new) in [("ln1", "ln_1"), ("ln2", "ln_2"), ("sa.proj", "attn.c_proj"), ("ffwd.net.0", "mlp.c_fc"),
                               ("ffwd.net.2", "mlp.c_proj")] {
                try rename("\(from).\(old).weight", "\(to).\(new).weight")
                try rename("\(from).\(old).bias", "\(to).\(new).bias", optional: true)
            }
            // Fold per-head projections [D, C] into the packed [3C, C] matrix (and [3C] bias, if any).
            var packed = [Float](repeating: 0, count: 3 * c * c)
            var packedBias = [Float](repeating: 0, count: 3 * c)
            var hasBias = false
            for (part, kind) in ["query", "key", "value"].enumerated() {
                for head in 0..<heads {
                    let weight = try take("\(from).sa.heads.\(head).\(kind).weight")
                    guard weight.shape == [d, c] else {
                        throw GPTError.invalidCheckpoint(path: "state dict", reason:
                            "tensor \(from).sa.heads.\(head).\(kind).weight has shape \(weight.shape), expected \([d, c])")
                    }
                    let firstRow = part * c + head * d
                    packed.replaceSubrange((firstRow * c)..<((firstRow + d) * c), with: weight.values)
                    if let bias = tensors["\(from).sa.heads.\(head).\(kind).bias"], bias.values.count == d {
                        consumed.insert("\(from).sa.heads.\(head).\(kind).bias")
                        packedBias.replaceSubrange(firstRow..<(firstRow + d), with: bias.values)
                        hasBias = true
                    }
                }
            }
            result["\(to).attn.c_attn.weight"] = ([3 * c, c], packed)
            if hasBias { result["\(to).attn.c_attn.bias"] = ([3 * c], packedBias) }
        }
        try rename("ln_f.weight", "transformer.ln_f.weight")
        try rename("ln_f.bias", "transformer.ln_f.bias", optional: true)
        try rename("lm_head.weight", "lm_head.weight", optional: configuration.tiedEmbeddings)
        try rename("lm_head.bias", "lm_head.bias", optional: true)
        // Buffers of the lecture's Head (the causal mask) are not weights.
        if let extra = tensors.keys.sorted().first(where: { !consumed.contains($0) && !$0.hasSuffix(".tril") }) {
            throw GPTError.invalidCheckpoint(path: "state dict", reason: "tensor \(extra) does not belong to the lecture's layout")
        }
        return result
    }
}

extension StateDictLayout {
    /// Throws naming every configuration field that this layout's PyTorch class cannot represent (the lecture's
    /// gpt.py holds a head with or without a bias, and key/query/value biases if present; nanoGPT's GPT runs GPT-2's
    /// tanh GELU as the exact one).
    public func checkCompatible(_ configuration: ModelConfiguration) throws {
        switch self {
        case .nanoGPT:
            // GPT-2's tanh GELU (an imported GPT-2) runs as nanoGPT's exact one, as nanoGPT's from_pretrained does.
            var exact = configuration
            if exact.activation == .geluTanh { exact.activation = .gelu }
            try ModelLayout.nanoGPT.require(exact, for: "nanoGPT's GPT")
        case .lecture:
            let free: Set = ["lm_head_bias", "attention_bias"]
            try ModelLayout.lecture.require(configuration, for: "the lecture's gpt.py",
                                            only: ModelLayout.lecture.mismatches(configuration).map(\.field).filter { !free.contains($0) })
        }
    }

    /// The model's weights under this layout's names (the inverse of ``nativeTensors(_:configuration:)``).
    public func exportTensors(_ model: GPTLanguageModel) throws -> StateDict {
        let configuration = model.configuration
        try checkCompatible(configuration)
        var native: StateDict = [:]
        for (name, tensor) in model.namedParameters() { native[name] = (tensor.shape, tensor.values) }
        switch self {
        case .nanoGPT:
            native["lm_head.weight"] = native["transformer.wte.weight"]  // tied: nanoGPT's state dict holds both keys
            return native
        case .lecture:
            let c = configuration.embeddingSize, d = configuration.headSize
            var result: StateDict = [:]
            func move(_ from: String, _ to: String) { if let tensor = native[from] { result[to] = tensor } }
            move("transformer.wte.weight", "token_embedding_table.weight")
            move("transformer.wpe.weight", "position_embedding_table.weight")
            for layer in 0..<configuration.layerCount {
                let from = "transformer.h.\(layer)", to = "blocks.\(layer)"
                for (new, old) in [("ln1", "ln_1"), ("ln2", "ln_2"), ("sa.proj", "attn.c_proj"), ("ffwd.net.0", "mlp.c_fc"),
                                   ("ffwd.net.2", "mlp.c_proj")] {
                    move("\(from).\(old).weight", "\(to).\(new).weight")
                    move("\(from).\(old).bias", "\(to).\(new).bias")
                }
                let packed = native["\(from).attn.c_attn.weight"]!.values
                let packedBias = native["\(from).attn.c_attn.bias"]?.values
                for (part, kind) in ["query", "key", "value"].enumerated() {
                    for head in 0..<configuration.headCount {
                        let firstRow = part * c + head * d
                        result["\(to).sa.heads.\(head).\(kind).weight"] = ([d, c], Array(packed[(firstRow * c)..<((firstRow + d) * c)]))
                        if let packedBias {
                            result["\(to).sa.heads.\(head).\(kind).bias"] = ([d], Array(packedBias[firstRow..<(firstRow + d)]))
                        }
                    }
                }
                // The lecture's Head registers its causal mask as a buffer, so load_state_dict expects it.
                let t = configuration.blockSize
                let tril = (0..<(t * t)).map { Float($0 % t <= $0 / t ? 1 : 0) }
                for head in 0..<configuration.headCount { result["\(to).sa.heads.\(head).tril"] = ([t, t], tril) }
            }
            move("transformer.ln_f.weight", "ln_f.weight")
            move("transformer.ln_f.bias", "ln_f.bias")
            move("lm_head.weight", "lm_head.weight")
            move("lm_head.bias", "lm_head.bias")
            return result
        }
    }
}
