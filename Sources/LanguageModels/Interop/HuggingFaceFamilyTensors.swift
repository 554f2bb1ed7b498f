import Foundation

/// One tensor of this package's model and the transformers tensors it is made of: one rename, or several stacked
/// along the first dimension (q, k and v into the packed `c_attn`). Read one way on import and the other on export.
public struct TensorTranslation: Sendable, Equatable {
    public struct Part: Sendable, Equatable {
        /// transformers' name (`model.layers.0.self_attn.q_proj.weight`).
        public let name: String
        public let shape: [Int]
        /// Whether the second half of every head's rows is negated on the way (nanochat's rotary embedding turns the
        /// other way from Llama's, which this package computes; negating half of each query and key head turns it
        /// back and leaves every score `q·k` as it was). Negating twice is the identity, so export does the same.
        public let flipsRotation: Bool
    }

    /// This package's name (`transformer.h.0.attn.c_attn.weight`).
    public let name: String
    public let parts: [Part]
    /// The head size whose halves ``Part/flipsRotation`` negates.
    public let headSize: Int

    /// The shape of this package's tensor: the parts stacked along their first dimension.
    public var shape: [Int] { [parts.reduce(0) { $0 + $1.shape[0] }] + parts[0].shape.dropFirst() }
}

extension HuggingFaceFamily {
    /// Every tensor of a `c` model of this family, under this package's names and transformers', with the shapes
    /// `c` gives them: the one table import and export both read.
    public func tensorTable(_ c: ModelConfiguration) -> [TensorTranslation] {
        let layout = c.packedQKV, d = layout.headSize, width = c.embeddingSize, f = c.feedForwardWidth
        let flips = self == .nanochat
        func one(_ ours: String, _ theirs: String, _ shape: [Int]) -> TensorTranslation {
            TensorTranslation(name: ours, parts: [.init(name: theirs, shape: shape, flipsRotation: false)], headSize: d)
        }
        var table = [one("transformer.wte.weight", "model.embed_tokens.weight", [c.vocabSize, width])]
        for i in 0..<c.layerCount {
            let ours = "transformer.h.\(i).", theirs = "model.layers.\(i)."
            if c.normAffine { table.append(one(ours + "ln_1.weight", theirs + "input_layernorm.weight", [width])) }
            for kind in ["weight", "bias"] where kind == "weight" || c.attentionBias {
                let columns = kind == "weight" ? [width] : []
                table.append(TensorTranslation(name: ours + "attn.c_attn.\(kind)", parts: [
                    .init(name: theirs + "self_attn.q_proj.\(kind)", shape: [layout.queryWidth] + columns, flipsRotation: flips),
                    .init(name: theirs + "self_attn.k_proj.\(kind)", shape: [layout.keyValueWidth] + columns, flipsRotation: flips),
                    .init(name: theirs + "self_attn.v_proj.\(kind)", shape: [layout.keyValueWidth] + columns, flipsRotation: false),
                ], headSize: d))
            }
            table.append(one(ours + "attn.c_proj.weight", theirs + "self_attn.o_proj.weight", [width, layout.queryWidth]))
            if c.bias { table.append(one(ours + "attn.c_proj.bias", theirs + "self_attn.o_proj.bias", [width])) }
            if c.qkNorm && c.qkNormAffine {
                table.append(one(ours + "attn.q_norm.weight", theirs + "self_attn.q_norm.weight", [d]))
                table.append(one(ours + "attn.k_norm.weight", theirs + "self_attn.k_norm.weight", [d]))
            }
            if c.normAffine { table.append(one(ours + "ln_2.weight", theirs + "post_attention_layernorm.weight", [width])) }
            let mlp: [(ours: String, theirs: String, shape: [Int])] = c.gatedFeedForward
                ? [("c_fc", "gate_proj", [f, width]), ("c_up", "up_proj", [f, width]), ("c_proj", "down_proj", [width, f])]
                : [("c_fc", "fc1", [f, width]), ("c_proj", "fc2", [width, f])]
            for (ourName, theirName, shape) in mlp {
                table.append(one(ours + "mlp.\(ourName).weight", theirs + "mlp.\(theirName).weight", shape))
                if c.bias { table.append(one(ours + "mlp.\(ourName).bias", theirs + "mlp.\(theirName).bias", [shape[0]])) }
            }
        }
        if c.normAffine { table.append(one("transformer.ln_f.weight", "model.norm.weight", [width])) }
        if !c.tiedEmbeddings { table.append(one("lm_head.weight", "lm_head.weight", [c.vocabSize, width])) }
        return table
    }

    /// transformers' tensors (`stored`, consumed) under this package's names, each part's shape checked against
    /// `table` first; a missing tensor, a misshapen one or one the table does not name is an error naming it.
    /// Buffers that are not weights (`rotary_emb.inv_freq`) and a tied head's copy of the embedding are dropped.
    /// `stored` is consumed so that each tensor's memory is freed once it is moved (a model is held about twice at
    /// the peak, not three times).
    static func nativeTensors(_ stored: consuming StateDict, table: [TensorTranslation], family: String,
                              source: String) throws -> StateDict {
        func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: source, reason: reason) }
        for translation in table {
            for part in translation.parts {
                guard let tensor = stored[part.name] else { throw fail("tensor \(part.name) is missing") }
                guard tensor.shape == part.shape else {
                    throw fail("tensor \(part.name) has shape \(tensor.shape), but config.json describes \(part.shape)")
                }
            }
        }
        var native: StateDict = [:]
        for translation in table {
            let parts = translation.parts.map { part in (part, stored.removeValue(forKey: part.name)!.values) }
            native[translation.name] = (translation.shape, stacked(parts, headSize: translation.headSize))
        }
        let ignored = { (name: String) in name.hasSuffix("rotary_emb.inv_freq") || name == "lm_head.weight" }
        if let extra = stored.keys.sorted().first(where: { !ignored($0) }) {
            throw fail("tensor \(extra.prefix(200)) does not belong to a \(family) model of this config.json")
        }
        return native
    }

    /// `model`'s tensors under transformers' names (the inverse of ``nativeTensors(_:table:family:source:)``).
    public func exportTensors(_ native: StateDict, configuration: ModelConfiguration) -> StateDict {
        var tensors: StateDict = [:]
        for translation in tensorTable(configuration) {
            guard let values = native[translation.name]?.values else { continue }
            var offset = 0
            for part in translation.parts {
                let count = part.shape.reduce(1, *)
                tensors[part.name] = (part.shape, Self.stacked([(part, Array(values[offset..<(offset + count)]))],
                                                               headSize: translation.headSize))
                offset += count
            }
        }
        return tensors
    }

    /// The parts' values one after the other, with each head's second half negated where a part says so.
    static func stacked(_ parts: [(part: TensorTranslation.Part, values: [Float])], headSize: Int) -> [Float] {
        if parts.count == 1, !parts[0].part.flipsRotation { return parts[0].values }
        let total = parts.reduce(0) { $0 + $1.values.count }
        return [Float](unsafeUninitializedCapacity: total) { buffer, initialized in
            var offset = 0
            for (part, values) in parts {
                values.withUnsafeBufferPointer { source in
                    (buffer.baseAddress! + offset).initialize(from: source.baseAddress!, count: source.count)
                }
                if part.flipsRotation {
                    let rowWidth = part.shape.dropFirst().reduce(1, *), half = headSize / 2
                    for head in 0..<(part.shape[0] / headSize) {
                        let start = buffer.baseAddress! + offset + (head * headSize + half) * rowWidth
                        for i in 0..<(half * rowWidth) { start[i] = -start[i] }
                    }
                }
                offset += values.count
            }
            initialized = total
        }
    }
}
