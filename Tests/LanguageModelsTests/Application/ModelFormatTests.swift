import Foundation
import LanguageModels
import Testing

/// The import and export doors through the library: every export reads back with nothing else given.
@Suite struct ModelFormatTests {
    /// A new empty folder in the temporary directory; the caller removes it (`defer`).
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gpt-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A tiny GPT in `layout` with a character tokenizer of its 11 tokens.
    static func checkpoint(_ layout: ModelLayout, seed: UInt64 = 5) -> Checkpoint {
        var configuration = AttentionTests.tinyConfiguration()
        layout.apply(to: &configuration)
        var generator = SeededGenerator(seed: seed)
        let model = GPTLanguageModel(configuration, generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(vocabulary: (0..<11).map { Unicode.Scalar(UInt8(97 + $0)) }))
        return Checkpoint(model: model, tokenizer: tokenizer)
    }

    @Test(arguments: [("nanogpt", ModelLayout.nanoGPT, "m.safetensors"), ("lecture", .lecture, "m.safetensors"),
                      ("hf", .nanoGPT, "folder")])
    func everyExportImportsBackWithNothingElse(format name: String, layout: ModelLayout, file: String) throws {
        let original = Self.checkpoint(layout)
        let folder = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(file)
        let format = try ModelFormats.named(name)
        _ = try format.write(original, to: url, options: ExportOptions())
        let detected = try ModelFormats.detect(url)
        #expect(detected.name == name)
        let back = try detected.read(url, tokenizer: nil, configuration: nil)
        #expect(back.tokenizer == original.tokenizer)
        #expect(try Checkpoint.json(back.model.configuration) == Checkpoint.json(original.model.configuration))
        let idx = [1, 2, 3, 4, 5, 6, 7, 8]
        #expect(back.model.forward(idx).logits.values == original.model.forward(idx).logits.values)
    }

    @Test func theDefaultPresetExportsToNanoGPTHuggingFaceAndGGUF() throws {
        let configuration = TrainingPreset.baby.model(65)
        var generator = SeededGenerator(seed: 1)
        let model = GPTLanguageModel(configuration, generator: &generator)
        #expect(ModelLayout.of(configuration) == .nanoGPT)
        for name in ["nanogpt", "hf", "gguf"] { _ = try ModelFormats.named(name).check(model) }
        #expect(throws: GPTError.self) { try ModelFormats.named("lecture").check(model) }
    }

    @Test func aRefusalNamesEveryFieldAndTheOneLayoutThatAvoidsThem() throws {
        let lecture = Self.checkpoint(.lecture)
        let model = try #require(lecture.model as? GPTLanguageModel)
        #expect(throws: GPTError.invalidConfiguration(field: "activation", reason: "must be gelu (and tie_weights=true, "
            + "lm_head_bias=false, attention_bias=true) for nanoGPT's GPT; train with --layout nanogpt")) {
            try ModelFormats.named("nanogpt").check(model)
        }
        let folder = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: GPTError.self) {
            try ModelFormats.named("nanogpt").write(lecture, to: folder.appendingPathComponent("x"), options: ExportOptions())
        }
    }

    @Test func ggufIsRecognisedAndReadBack() throws {
        let folder = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("m.gguf")
        let checkpoint = Self.checkpoint(.nanoGPT)
        _ = try ModelFormats.named("gguf").write(checkpoint, to: url, options: ExportOptions())
        let format = try ModelFormats.detect(url)
        #expect(format.name == "gguf")
        let back = try format.read(url, tokenizer: nil, configuration: nil)
        #expect(back.model.configuration.layerCount == checkpoint.model.configuration.layerCount)
    }

    @Test func detectionRefusesWhatIsNotAModelWithoutOpeningSpecialFiles() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("fifo")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(throws: GPTError.self) { try ModelFormats.detect(fifo) }  // returns at once: a FIFO is never opened
        let text = directory.appendingPathComponent("notes.txt")
        try Data("hello".utf8).write(to: text)
        #expect(throws: GPTError.self) { try ModelFormats.detect(text) }
        #expect(throws: GPTError.fileNotFound(path: directory.appendingPathComponent("none").path)) {
            try ModelFormats.detect(directory.appendingPathComponent("none"))
        }
        #expect(throws: GPTError.self) { try ModelFormats.named("onnx") }
    }

    @Test func aStateDictWithoutItsTokenizerSaysWhatToGive() throws {
        let folder = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("m.safetensors")
        _ = try ModelFormats.named("nanogpt").write(Self.checkpoint(.nanoGPT), to: url, options: ExportOptions())
        try FileManager.default.removeItem(at: url.deletingPathExtension().appendingPathExtension("tokenizer.json"))
        do {
            _ = try ModelFormats.detect(url).read(url, tokenizer: nil, configuration: nil)
            Issue.record("a state dict without a tokenizer was read")
        } catch GPTError.invalidCheckpoint(_, let reason) {
            #expect(reason.contains("--vocab"))
        }
    }
}

extension ModelFormatTests {
    @Test func anImportedGPT2GoesOutToNanoGPTWithANote() throws {
        let checkpoint = Self.checkpoint(.nanoGPT)
        var configuration = checkpoint.model.configuration
        configuration.activation = .geluTanh  // as a Hugging Face GPT-2 imports
        var generator = SeededGenerator(seed: 2)
        let gpt2 = GPTLanguageModel(configuration, generator: &generator)
        let note = try ModelFormats.named("nanogpt").check(gpt2)
        #expect(note?.contains("tanh") == true)
        let folder = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("gpt2.safetensors")
        _ = try ModelFormats.named("nanogpt").write(Checkpoint(model: gpt2, tokenizer: checkpoint.tokenizer), to: url,
                                                  options: ExportOptions())
        #expect(try ModelFormats.named("nanogpt").check(Self.checkpoint(.nanoGPT).model as! GPTLanguageModel) == nil)
    }
}

extension ModelFormatTests {
    /// nanoGPT's own ckpt.pt through the door, its meta.pkl found beside it: logits equal nanoGPT's model
    /// (the fixtures of Scripts/make_nanogpt_fixtures.py), a padded vocabulary cut to the tokenizer's.
    @Test(arguments: ["char", "padded"]) func nanoGPTsCheckpointIsReadWithTheTokenizerBesideIt(name: String) throws {
        let url = TorchCheckpointTests.fixtures.appendingPathComponent("\(name).pt")
        let format = try ModelFormats.detect(url)
        #expect(format.name == "ckpt")
        let checkpoint = try format.read(url, tokenizer: nil, configuration: nil)
        #expect(checkpoint.tokenizer.vocabularySize == 65 && checkpoint.model.configuration.vocabSize == 65)
        #expect(ModelLayout.of(checkpoint.model.configuration) == .nanoGPT)
        let expected = try TorchCheckpointTests.expected()
        let ids = expected["ids"] as! [Int]
        let reference = (expected[name] as! [Double]).map(Float.init)
        let difference = zip(checkpoint.model.forward(ids).logits.values, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference < 1e-5, "max |logit difference| \(difference)")
        #expect(throws: GPTError.self) { try format.check(checkpoint.model as! GPTLanguageModel) }  // read only
    }
}
