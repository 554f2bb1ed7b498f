import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

/// Absurd, overflowing or damaged input gets a typed error naming the field before anything is allocated; it
/// never traps, hangs or loads silently.
@Suite struct HardeningTests {

    /// A configuration.json text with one field replaced by a raw JSON number.
    static func configuration(_ field: String, _ value: String) throws -> ModelConfiguration {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(AttentionTests.tinyConfiguration())) as! [String: Any]
        object[field] = nil
        let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        return try JSONDecoder().decode(ModelConfiguration.self, from: Data((String(text.dropLast()) + ",\"\(field)\":\(value)}").utf8))
    }

    @Test(arguments: [
        ("n_embd", "16384"), ("n_embd", "1000000"), ("n_embd", "4611686018427387904"), ("n_embd", "9223372036854775807"),
        ("n_layer", "10000"), ("n_layer", "1000000000000"), ("n_layer", "0"), ("n_layer", "-1"), ("n_head", "2048"),
        ("block_size", "1000000000"), ("block_size", "9223372036854775807"), ("block_size", "0"),
        ("vocab_size", "4611686018427387904"), ("vocab_size", "0"), ("vocab_size", "-5"),
    ])
    func absurdConfigurationsAreRefusedNamingTheField(field: String, value: String) throws {
        let configuration = try Self.configuration(field, value)
        #expect {
            try configuration.validate()
        } throws: { error in
            guard case GPTError.invalidConfiguration(let named, _) = error else { return false }
            return ["n_embd", "n_layer", "n_head", "block_size", "vocab_size"].contains(named)
        }
        var generator = SeededGenerator(seed: 0)
        #expect(throws: GPTError.self) { try makeModel(configuration, generator: &generator) }
    }

    @Test func configurationsAtTheirBoundsAreAccepted() throws {
        for (field, value) in [("n_layer", "1024"), ("n_head", "8"), ("block_size", "1048576"), ("vocab_size", "65")] {
            #expect(throws: Never.self) { try Self.configuration(field, value).validate() }
        }
    }

    @Test func geluKeepsItsMeaningAcrossFormatVersions() throws {
        func activation(_ json: String) throws -> ModelConfiguration.Activation {
            try JSONDecoder().decode(ModelConfiguration.self, from: Data(json.utf8)).activation
        }
        let base = #""vocab_size":65,"block_size":8,"n_layer":1,"n_head":1,"n_embd":8"#
        // Every versioned file holds all of the 2019 keys (format 1 as the first version wrote them).
        let versioned = base + #","model_type":"gpt","dropout":0,"bias":true,"attention_bias":false,"lm_head_bias":false,"tie_weights":true"#
        #expect(try activation("{\(versioned),\"format_version\":1,\"activation\":\"gelu\"}") == .geluTanh)  // written before
        #expect(try activation("{\(base),\"activation\":\"gelu\"}") == .geluTanh)
        #expect(try activation("{\(base)}") == .gelu)  // nanoGPT's own config: its exact GELU
        #expect(try activation("{\(versioned),\"format_version\":2,\"activation\":\"gelu\"}") == .gelu)
        #expect(try activation("{\(versioned),\"format_version\":2,\"activation\":\"relu2\"}") == .relu2)
        // What this version writes reads back the same.
        for kind in ModelConfiguration.Activation.allCases {
            var configuration = AttentionTests.tinyConfiguration()
            configuration.activation = kind
            #expect(try JSONDecoder().decode(ModelConfiguration.self, from: JSONEncoder().encode(configuration)).activation == kind)
        }
    }

    @Test(arguments: ModelConfiguration.Activation.allCases)
    func cachedDecodingEqualsTheFullForwardForEachActivation(kind: ModelConfiguration.Activation) throws {
        var configuration = AttentionTests.tinyConfiguration()
        configuration.activation = kind
        var generator = SeededGenerator(seed: 8)
        let model = GPTLanguageModel(configuration, generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghijk"))
        var options = SamplingOptions()
        (options.maxNewTokens, options.temperature) = (6, 0)
        var cached: [Int] = []
        try TextGenerator(model: model, tokenizer: tokenizer).generate(prompt: [1, 2], options: options) { piece in
            cached += piece.tokens.map(\.token)
            return true
        }
        // Greedy decoding by the full forward over the whole context, one token at a time.
        var context = [1, 2], uncached: [Int] = []
        for _ in 0..<6 {
            let logits = model.forward(context).logits.values
            let last = Array(logits.suffix(11))
            let next = last.indices.max { last[$0] < last[$1] }!
            uncached.append(next)
            context.append(next)
        }
        #expect(cached == uncached)
    }

    @Test func theParameterCountIsTheModelsOwn() throws {
        // Counted from the configuration alone (before any allocation) and from a built model: the same number.
        for (bias, tied, headBias, attentionBias) in [(true, true, false, true), (false, false, true, false), (true, false, true, true)] {
            var configuration = AttentionTests.tinyConfiguration(bias: attentionBias)
            (configuration.bias, configuration.tiedEmbeddings, configuration.lmHeadBias) = (bias, tied, headBias)
            var generator = SeededGenerator(seed: 3)
            #expect(try configuration.parameterCount() == (try makeModel(configuration, generator: &generator)).parameterCount)
        }
        #expect(try ModelConfiguration.bigram(vocabSize: 65).parameterCount() == 65 * 65)
    }

    @Test func everyTrainingSettingHasBothBounds() {
        let cases: [(String, (inout TrainingSettings) -> Void)] = [
            ("--batch-size", { $0.batchSize = 0 }), ("--batch-size", { $0.batchSize = 1_000_000_000 }),
            ("--batch-size", { $0.batchSize = 1 << 62 }), ("--block-size", { $0.blockSize = Int.max }),
            ("--batch-size", { ($0.batchSize, $0.blockSize) = (65_536, 1_048_576) }),
            ("--max-iters", { $0.maxIterations = -1 }), ("--max-iters", { $0.maxIterations = Int.max }),
            ("--eval-interval", { $0.evalInterval = 0 }), ("--eval-iters", { $0.evalIterations = 1_000_000_000 }),
            ("final_eval_iterations", { $0.finalEvalIterations = -1 }), ("final_eval_iterations", { $0.finalEvalIterations = 0 }),
            ("--warmup-iters", { $0.warmupIterations = Int.min }), ("--lr-decay-iters", { $0.decayIterations = -3 }),
            ("--learning-rate", { $0.learningRate = .nan }), ("--learning-rate", { $0.learningRate = 1e6 }),
            ("--min-lr", { $0.minimumLearningRate = -1 }), ("--min-lr", { $0.minimumLearningRate = 1 }),
            ("--beta1", { $0.beta1 = 1 }), ("--beta2", { $0.beta2 = -0.1 }), ("--beta2", { $0.beta2 = .infinity }),
            ("--weight-decay", { $0.weightDecay = -0.1 }), ("--grad-clip", { $0.gradientClip = -1 }),
            ("--grad-clip", { $0.gradientClip = .nan }),
        ]
        for (name, change) in cases {
            var settings = TrainingSettings()
            change(&settings)
            var named: String?
            do { try settings.validate() } catch GPTError.invalidArgument(let field, _) { named = field } catch {}
            #expect(named == name, "\(name)")
        }
        #expect(throws: Never.self) { try TrainingSettings().validate() }
    }

    /// Saves a resumable run, lets `damage` edit its trainer.json, and returns what resuming it throws.
    static func resumeError(_ damage: (inout [String: Any]) -> Void) throws -> GPTError? {
        let directory = temporaryDirectory("hardening")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try ResumeTests.makeTrainer()
        try trainer.trainStep()
        let latest = directory.appendingPathComponent("latest")
        try TrainingCheckpoint.save(trainer, tokenizer: ResumeTests.tokenizer, state: trainer.state(data: nil, preset: "t"), to: latest)
        let file = latest.appendingPathComponent(TrainingState.file)
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
        damage(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: file)
        do {
            _ = try TrainingCheckpoint.load(directory)
            return nil
        } catch let error as GPTError {
            return error
        }
    }

    @Test func damagedTrainerStatesAreRefusedBeforeTraining() throws {
        func settings(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
            { object in
                var settings = object["settings"] as! [String: Any]
                settings[key] = value
                object["settings"] = settings
            }
        }
        let damages: [(String, (inout [String: Any]) -> Void)] = [
            ("finalEvalIterations", settings("finalEvalIterations", -1)),
            ("batchSize", settings("batchSize", 1_000_000_000)), ("blockSize", settings("blockSize", Int.max)),
            ("warmupIterations", settings("warmupIterations", Int.min)), ("evalIterations", settings("evalIterations", 1_000_000_000)),
            ("minimumLearningRate", settings("minimumLearningRate", -1)), ("beta2", settings("beta2", 1.5)),
            ("zero rng", { $0["batch_rng"] = ["state": [0, 0, 0, 0]] }),
            ("zero dropout rng", { $0["dropout_rng"] = ["state": [0, 0, 0, 0]] }),
            ("step", { $0["step"] = -4 }), ("evaluated_step", { $0["evaluated_step"] = 99 }),
        ]
        for (name, damage) in damages {
            let error = try Self.resumeError(damage)
            #expect(error != nil, "\(name)")
            if case .invalidCheckpoint(let path, _)? = error { #expect(path.hasSuffix("trainer.json"), "\(name)") }
        }
        #expect(try Self.resumeError { _ in } == nil)
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteWeightsAreRefusedNamingTheTensor(value: Float) throws {
        var generator = SeededGenerator(seed: 1)
        let model = try makeModel(AttentionTests.tinyConfiguration(), generator: &generator)
        let directory = temporaryDirectory("hardening")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Checkpoint(model: model, tokenizer: ResumeTests.tokenizer).save(to: directory)
        // Poke the value into lm_head.weight inside the file (the saved tensors are fp32 in the header's order).
        var tensors = try SafeTensors.read(directory.appendingPathComponent(Checkpoint.weightsFile)).tensors
        var head = tensors["lm_head.weight"]!
        head.values[5] = value
        tensors["lm_head.weight"] = head
        let named = tensors.keys.sorted().map { (name: $0, tensor: Tensor(shape: tensors[$0]!.shape, values: tensors[$0]!.values)) }
        try SafeTensors.write(named, to: directory.appendingPathComponent(Checkpoint.weightsFile))
        #expect {
            try Checkpoint.load(from: directory)
        } throws: { error in
            "\(error)".contains("lm_head.weight") && "\(error)".contains("index 5")
        }
    }

    @Test func aRunThatCannotFitInMemoryIsRefusedBeforeItsFirstStep() throws {
        var generator = SeededGenerator(seed: 2)
        var configuration = AttentionTests.tinyConfiguration()
        configuration.blockSize = 2048
        let model = GPTLanguageModel(configuration, generator: &generator)
        var settings = TrainingSettings()
        (settings.batchSize, settings.blockSize) = (8192, 2048)  // 2^24 tokens a batch: within the bound, not in memory
        let tokens = (0..<5000).map { $0 % 11 }
        #expect {
            try Trainer(model: model, dataset: TextDataset(tokens: tokens), settings: settings)
        } throws: { error in
            "\(error)".contains("training needs about")
        }
    }

    @Test func specialFilesAsCorpusSayWhatTheyAre() throws {
        for path in ["/dev/null", "/dev/zero"] {
            #expect {
                try readCorpus(at: path)
            } throws: { error in
                "\(error)".contains("not a regular file")
            }
        }
    }

    @Test func messagesQuoteAtMost200CharactersOfInput() {
        let huge = String(repeating: "x", count: 10_000_000)
        let error = GPTError.invalidArgument(name: "--prompt", reason: huge)
        #expect(error.description.count < 700)
        #expect(GPTError.unwritableFile(path: "/nope/file", reason: "No such directory").description.hasPrefix("cannot write"))
    }
}
