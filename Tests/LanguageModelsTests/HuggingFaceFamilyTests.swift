import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// Random tiny models of the Llama, Mistral, Qwen2, Qwen3 and nanochat families saved by transformers import with
/// logits equal to transformers' and the same greedy tokens; a sharded BF16 Llama too (fixtures and golden values from
/// `Scripts/make_family_fixtures.py`). The translation table is the model's own parameter list, and reads back.
@Suite struct HuggingFaceFamilyTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("hf_families")
    static let names = ["llama", "mistral", "qwen2", "qwen3", "nanochat", "llama_sharded"]

    static func golden(_ name: String) throws -> [String: Any] {
        let all = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("golden.json"))) as! [String: Any]
        return all[name] as! [String: Any]
    }

    static func imported(_ name: String) throws -> Checkpoint {
        let folder = fixtures.appendingPathComponent(name)
        let format = try ModelFormats.detect(folder)
        #expect(format.name == "hf")
        return try format.read(folder, tokenizer: nil, configuration: nil)
    }

    @Test(arguments: names)
    func logitsAndGreedyTokensEqualTransformers(name: String) throws {
        let checkpoint = try Self.imported(name)
        let model = try #require(checkpoint.model as? GPTLanguageModel)
        let golden = try Self.golden(name)
        let ids = golden["ids"] as! [Int]
        let logits = withoutGradient { model.forward(ids).logits.values }
        let v = model.configuration.vocabSize
        for (row, key) in [(0, "first"), (ids.count - 1, "last")] {
            let reference = (golden[key] as! [Double]).map(Float.init)
            let ours = Array(logits[(row * v)..<((row + 1) * v)])
            let difference = zip(ours, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(reference.count == v, "\(name): \(v) tokens, transformers \(reference.count)")
            #expect(difference < 1e-4, "\(name) \(key): max |logit difference| \(difference)")
        }
        let cache = KVCache(model.configuration)
        var next = model.prefill(ids, cache: cache), greedy: [Int] = []
        for _ in 0..<(golden["greedy"] as! [Int]).count {
            greedy.append(next.indices.max { next[$0] < next[$1] }!)
            next = model.decode(greedy.last!, cache: cache)
        }
        #expect(greedy == golden["greedy"] as! [Int], "\(name)")
    }

    @Test(arguments: ["qwen3", "nanochat"])
    func gradientsEqualTransformers(name: String) throws {
        // The training path of the families' ops (SwiGLU or ReLU², QK-norm with or without gains, head_dim, RoPE
        // scaling, the turned rotation): the loss of a batch and every gradient, translated by the same table.
        let model = try #require(try Self.imported(name).model as? GPTLanguageModel)
        let file = try SafeTensors.read(Self.fixtures.appendingPathComponent("\(name)_grads.safetensors"))
        func integers(_ key: String) throws -> [Int] { try JSONDecoder().decode([Int].self, from: Data(file.metadata[key]!.utf8)) }
        let (idx, targets) = (try integers("idx"), try integers("targets"))
        let loss = model.forward(idx, batchSize: 2, targets: targets, training: true).loss!
        #expect(abs(loss.item - Float(file.metadata["loss"]!)!) < 1e-5, "\(name) loss")
        loss.backward()
        var ours: StateDict = [:]
        for (parameter, tensor) in model.namedParameters() { ours[parameter] = (tensor.shape, tensor.gradient!) }
        let family = try #require(HuggingFaceFamily(rawValue: name))
        let translated = family.exportTensors(ours, configuration: model.configuration)
        #expect(Set(translated.keys) == Set(file.tensors.keys))
        for (key, reference) in file.tensors {
            let scale = reference.values.map(abs).max()!
            let difference = zip(translated[key]?.values ?? [], reference.values).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-5 + 1e-4 * scale, "\(name) \(key): max |gradient difference| \(difference) of \(scale)")
        }
    }

    @Test func eachFamilyGetsItsOptions() throws {
        func configuration(_ name: String) throws -> ModelConfiguration { try Self.imported(name).model.configuration }
        let llama = try configuration("llama"), qwen2 = try configuration("qwen2"), qwen3 = try configuration("qwen3")
        let mistral = try configuration("mistral"), nanochat = try configuration("nanochat")
        #expect(llama.gatedFeedForward && llama.activation == .silu && llama.feedForwardWidth == 48 && !llama.tiedEmbeddings)
        #expect(llama.ropeScaling?.kind == .llama3 && llama.ropeTheta == 500_000 && llama.keyValueHeadCount == 2)
        #expect(qwen2.attentionBias && !qwen2.bias && qwen2.tiedEmbeddings && qwen2.ropeTheta == 1_000_000)
        #expect(qwen3.headSize == 12 && qwen3.qkNorm && qwen3.qkNormAffine && qwen3.ropeScaling == RopeScaling(kind: .linear, factor: 2))
        #expect(mistral.blockSize == 32, "cut to the sliding window")
        #expect(nanochat.activation == .relu2 && !nanochat.normAffine && nanochat.embeddingNorm && nanochat.logitSoftcap == 15)
        #expect(nanochat.qkNorm && !nanochat.qkNormAffine && !nanochat.gatedFeedForward)
    }

    @Test func chatTemplateAndSpecialTokensStayWithTheCheckpoint() throws {
        let directory = temporaryDirectory("family-companions")
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["llama", "qwen2"] {  // chat_template.jinja; the template inside tokenizer_config.json
            let checkpoint = try Self.imported(name)
            let template = try #require(checkpoint.companionFiles["chat_template.jinja"].flatMap { String(data: $0, encoding: .utf8) })
            #expect(template.contains("add_generation_prompt"), "\(name)")
            try checkpoint.save(to: directory.appendingPathComponent(name))
            let loaded = try Checkpoint.load(from: directory.appendingPathComponent(name))
            #expect(loaded.companionFiles["chat_template.jinja"] == Data(template.utf8))
            let config = try JSONSerialization.jsonObject(with: #require(loaded.companionFiles["tokenizer_config.json"])) as! [String: Any]
            #expect(config["eos_token"] as? String == "<|endoftext|>")
        }
    }

    @Test(arguments: names)
    func theTableIsTheModelsParametersAndReadsBack(name: String) throws {
        let folder = Self.fixtures.appendingPathComponent(name)
        let (family, configuration, native) = try HuggingFaceFamily.load(folder)
        var generator = SeededGenerator(seed: 1)
        let parameters = GPTLanguageModel(configuration, generator: &generator).namedParameters()
        let table = family.tensorTable(configuration)
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.name, $0.shape) })
            == Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.tensor.shape) }))
        // Export reads the same table the other way: transformers' tensors, bit for bit.
        var stored: StateDict = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".safetensors") {
            stored.merge(try SafeTensors.read(folder.appendingPathComponent(file)).tensors) { first, _ in first }
        }
        if configuration.tiedEmbeddings { stored["lm_head.weight"] = nil }
        let exported = family.exportTensors(native, configuration: configuration)
        #expect(Set(exported.keys) == Set(stored.keys))
        for (key, tensor) in stored { #expect(exported[key]?.shape == tensor.shape && exported[key]?.values == tensor.values, "\(key)") }
    }
}
