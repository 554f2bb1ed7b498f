import Foundation
import LanguageModels
import Testing

/// Runs, recipes and corpora through the library, as a Swift caller (and the command line) uses them.
@Suite struct TrainingRunTests {
    /// A folder with a small corpus in two text files, in a temporary folder of its own: the caller removes
    /// `folder.deletingLastPathComponent()` (`defer`).
    static func corpusFolder() throws -> URL {
        let folder = try ModelFormatTests.temporaryDirectory().appendingPathComponent("texts")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let line = "the quick brown fox jumps over the lazy dog. "
        try Data(String(repeating: line, count: 40).utf8).write(to: folder.appendingPathComponent("b.txt"))
        try Data(String(repeating: "pack my box with five dozen liquor jugs! ", count: 40).utf8)
            .write(to: folder.appendingPathComponent("a.txt"))
        try Data("not text".utf8).write(to: folder.appendingPathComponent("notes.md"))
        return folder
    }

    static func tinyRecipe(data: URL) -> TrainingRecipe {
        var recipe = TrainingRecipe(preset: "tiny")
        recipe.data.data = data.path
        (recipe.training.maxIters, recipe.training.evalInterval, recipe.training.evalIters) = (4, 2, 1)
        (recipe.training.batchSize, recipe.training.blockSize) = (2, 8)
        (recipe.model.layers, recipe.model.embeddingSize) = (1, 16)
        return recipe
    }

    @Test func aFolderOfTextFilesIsJoinedInNameOrder() throws {
        let folder = try Self.corpusFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let corpus = try Corpus(folder.path)
        let text = try corpus.text()
        #expect(text.hasPrefix("pack my box") && text.hasSuffix("lazy dog. "))
        #expect(text.contains("jugs! \nthe quick"))  // a newline where a file does not end in one
        #expect(corpus.description.hasPrefix("2 text files of"))
        let empty = try ModelFormatTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: GPTError.self) { try Corpus(empty.path) }
        #expect(try Corpus(nil) == .bundled)
    }

    @Test func optionsAreNamedAsTheCommandLineSpellsThem() {
        var recipe = TrainingRecipe()
        (recipe.model.embeddingSize, recipe.training.maxIters, recipe.data.vocabSize) = (64, 3, 100)
        #expect(recipe.givenOptions == ["embeddingSize", "maxIters", "vocabSize"])
        #expect(recipe.givenOptions.map(TrainingRecipe.flag) == ["--embedding-size", "--max-iters", "--vocab-size"])
        #expect(TrainingRecipe(preset: "tiny").givenOptions == ["preset"])
    }

    @Test func aRunTrainsSavesResumesAndRefusesWhatAResumeCannotChange() throws {
        let data = try Self.corpusFolder()
        defer { try? FileManager.default.removeItem(at: data.deletingLastPathComponent()) }
        let directory = data.deletingLastPathComponent().appendingPathComponent("run")
        let run = try TrainingRun.start(Self.tinyRecipe(data: data), in: directory)
        #expect(try run.train())
        for file in ["latest", "best", "log.jsonl", "loss.svg", "model.safetensors", "config.json", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file)")
        }
        #expect(throws: GPTError.self, "the directory holds a run") { try TrainingRun.start(Self.tinyRecipe(data: data), in: directory) }
        for option in ["vocabSize", "preset", "layers", "dropout"] {
            var recipe = TrainingRecipe(preset: option == "preset" ? "baby" : nil)
            if option == "vocabSize" { recipe.data.vocabSize = 100 }
            if option == "layers" { recipe.model.layers = 2 }
            if option == "dropout" { recipe.model.dropout = 0.1 }
            #expect(throws: GPTError.invalidArgument(name: TrainingRecipe.flag(option), reason:
                "a resumed run keeps the model, data and settings it was saved with; only --max-iters may change")) {
                try TrainingRun.resume(directory, recipe: recipe)
            }
        }
        var longer = TrainingRecipe()
        longer.training.maxIters = 6
        let resumed = try TrainingRun.resume(directory, recipe: longer)
        let corpus = try Corpus(data.path)
        #expect(resumed.origin == .resumed(step: 4) && resumed.corpus == corpus)
        #expect(try resumed.train())
        #expect(resumed.trainer.step == 6)
    }

    @Test func aFineTuneKeepsShapeAndTokenizerTakesDropoutAndLowersTheLearningRate() throws {
        let data = try Self.corpusFolder()
        defer { try? FileManager.default.removeItem(at: data.deletingLastPathComponent()) }
        let base = data.deletingLastPathComponent().appendingPathComponent("base")
        try TrainingRun.start(Self.tinyRecipe(data: data), in: base).train()
        var recipe = TrainingRecipe(preset: "tiny")
        recipe.data.data = data.appendingPathComponent("a.txt").path
        (recipe.training.maxIters, recipe.training.evalInterval, recipe.training.evalIters) = (2, 2, 1)
        for (option, change) in [("layers", { (r: inout TrainingRecipe) in r.model.layers = 2 }),
                                 ("tokenizer", { (r: inout TrainingRecipe) in r.data.tokenizer = "bpe" }),
                                 ("layout", { (r: inout TrainingRecipe) in r.model.layout = .modern })] {
            var refused = recipe
            change(&refused)
            #expect(throws: GPTError.invalidArgument(name: TrainingRecipe.flag(option), reason:
                "a fine-tuned model keeps the shape and tokenizer of --init-from (only --dropout may change)")) {
                try TrainingRun.fineTune(from: base, recipe: refused, in: base.appendingPathComponent("ft"))
            }
        }
        recipe.model.dropout = 0.25
        let run = try TrainingRun.fineTune(from: base, recipe: recipe, in: data.deletingLastPathComponent().appendingPathComponent("ft"))
        #expect(run.trainer.model.configuration.dropout == 0.25)
        #expect(run.trainer.settings.learningRate == TrainingPreset.tiny.training.learningRate * TrainingRun.fineTuningLearningRateScale)
        #expect(run.trainer.settings.blockSize == 8, "at most the model's block size")
        #expect(try run.train())
    }

    @Test func theEvaluationIterationsAlsoBoundTheFinalEvaluation() throws {
        var recipe = TrainingRecipe(preset: "lecture")
        recipe.training.evalIters = 1
        let settings = try recipe.settings(from: TrainingPreset.lecture.training)
        #expect(settings.evalIterations == 1 && settings.finalEvalIterations == 1)
        recipe.training.finalEvalIters = 50
        #expect(try recipe.settings(from: TrainingPreset.lecture.training).finalEvalIterations == 50)
    }
}

extension TrainingRunTests {
    @Test func aFineTuneOnTextOutsideTheVocabularyRefusesOrSkipsAndItsResumeSkipsToo() throws {
        let data = try Self.corpusFolder()
        defer { try? FileManager.default.removeItem(at: data.deletingLastPathComponent()) }
        let root = data.deletingLastPathComponent()
        try TrainingRun.start(Self.tinyRecipe(data: data), in: root.appendingPathComponent("base")).train()
        let foreign = root.appendingPathComponent("foreign.txt")
        try Data(String(repeating: "the quick brown fox jumps over the lazy dog. ZZ ", count: 30).utf8).write(to: foreign)
        var recipe = TrainingRecipe(preset: "tiny")
        recipe.data.data = foreign.path
        (recipe.training.maxIters, recipe.training.evalInterval, recipe.training.evalIters) = (2, 1, 1)
        #expect(throws: GPTError.self) {
            try TrainingRun.fineTune(from: root.appendingPathComponent("base"), recipe: recipe, in: root.appendingPathComponent("no"))
        }
        recipe.data.skipUnknown = true
        let ft = root.appendingPathComponent("ft")
        let run = try TrainingRun.fineTune(from: root.appendingPathComponent("base"), recipe: recipe, in: ft)
        #expect(run.skipped?.characters == 60)
        #expect(run.summary.contains { $0.contains("left out of the corpus") })
        try run.train()
        var longer = TrainingRecipe()
        longer.training.maxIters = 3
        let resumed = try TrainingRun.resume(ft, recipe: longer)
        #expect(resumed.skipped?.characters == 60)
        #expect(try resumed.train())
    }
}
