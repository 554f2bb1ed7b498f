import Foundation
import TensorModule

/// A training run and the directory it owns: started new from a ``TrainingRecipe``, resumed exactly where its last
/// save left it, or fine-tuned from any checkpoint; one call each.
///
/// The run directory holds, as training goes: `latest/` (after each evaluation) and `best/` (when the validation loss
/// improved), each a resumable save (``TrainingCheckpoint``); `log.jsonl` and `loss.svg` (``TrainingLog``); and at
/// the end the final model (`model.safetensors`, `config.json`, `tokenizer.json`).
///
/// ```swift
/// let run = try TrainingRun.start(TrainingRecipe(preset: "tiny"), in: URL(fileURLWithPath: "runs/tiny"))
/// try run.train { event in print(event) }
/// let resumed = try TrainingRun.resume(URL(fileURLWithPath: "runs/tiny"))
/// ```
public final class TrainingRun {
    /// How the run began.
    public enum Origin: Equatable, Sendable {
        case new
        case resumed(step: Int)
        case fineTuned(from: String)
    }

    public let trainer: Trainer
    public let tokenizer: Tokenizer
    public let corpus: Corpus
    /// The preset the run's settings came from.
    public let preset: String
    public let directory: URL
    public let origin: Origin
    /// What was left out of the corpus for being outside the tokenizer's vocabulary (``TrainingRecipe/DataOptions/skipUnknown``).
    public let skipped: UnknownText?
    /// The chat template and special tokens of the model a fine-tune or resume started from, saved with every save.
    public let companionFiles: [String: Data]
    let skipsUnknown: Bool
    let log: TrainingLog

    init(trainer: Trainer, tokenizer: Tokenizer, corpus: Corpus, preset: String, directory: URL, origin: Origin,
         skipsUnknown: Bool = false, skipped: UnknownText? = nil, log: TrainingLog? = nil,
         companionFiles: [String: Data] = [:]) {
        (self.trainer, self.tokenizer, self.corpus, self.preset) = (trainer, tokenizer, corpus, preset)
        self.companionFiles = companionFiles
        (self.directory, self.origin, self.skipsUnknown, self.skipped) = (directory, origin, skipsUnknown, skipped)
        self.log = log ?? TrainingLog(directory: directory)
    }

    /// The peak (and final) learning rate of a fine-tune, as a fraction of its preset's, unless given: the model
    /// has learned already, and the preset's full rate undoes part of that (baby at 1e-3 raised an in-domain
    /// model's validation loss from 1.573 to 1.728 in 100 steps).
    public static let fineTuningLearningRateScale: Float = 0.1

    /// Where a run of `preset` saves when no directory is given: `runs/<preset>`, or `runs/<preset>-finetuned`.
    public static func defaultDirectory(preset: String, fineTuned: Bool = false) -> URL {
        URL(fileURLWithPath: "runs/\(preset)\(fineTuned ? "-finetuned" : "")")
    }

    // MARK: - Starting

    /// A new run: the recipe's corpus, a new tokenizer of its kind, the preset's model with the options given.
    /// (Conversations are for a fine-tune: a new run refuses them.)
    /// A `directory` that holds a run is refused unless `overwrite` (which deletes that run first).
    public static func start(_ recipe: TrainingRecipe, in directory: URL? = nil, overwrite: Bool = false) throws -> TrainingRun {
        let preset = try recipe.resolvedPreset()
        let settings = try recipe.settings(from: preset.training)
        let corpus = try Corpus(recipe.data.data)
        if recipe.data.valFraction != nil { throw TrainingRun.validationFractionRefusal }
        let (dataset, tokenizer, _) = try corpus.dataset(kind: recipe.data.tokenizer ?? "char",
                                                      vocabularySize: recipe.data.vocabSize ?? 512)
        var base = preset.model(tokenizer.vocabularySize)
        base.blockSize = settings.blockSize
        let configuration = recipe.apply(to: base)
        let target = directory ?? defaultDirectory(preset: preset.name)
        try claim(target, overwrite: overwrite)
        var generator = SeededGenerator(seed: settings.seed)
        let model = try makeModel(configuration, generator: &generator)
        return TrainingRun(trainer: try Trainer(model: model, dataset: dataset, settings: settings), tokenizer: tokenizer,
                           corpus: corpus, preset: preset.name, directory: target, origin: .new)
    }

    /// A new run from the model saved in `checkpoint` (nanoGPT's `init_from`): its shape and tokenizer stay (a model
    /// option other than `dropout`, or a tokenizer option, is refused), the corpus is encoded with its tokenizer, the
    /// optimizer starts afresh at ``fineTuningLearningRateScale`` of the preset's learning rates unless they are given,
    /// and the block size is at most the model's.
    public static func fineTune(from checkpoint: URL, recipe: TrainingRecipe, in directory: URL? = nil,
                                overwrite: Bool = false) throws -> TrainingRun {
        let kept = Set(TrainingRecipe.given(recipe.model) + TrainingRecipe.given(recipe.data)).subtracting(["dropout", "data", "skipUnknown", "valFraction"])
        if let option = recipe.givenOptions.first(where: kept.contains) {
            throw GPTError.invalidArgument(name: TrainingRecipe.flag(option), reason:
                "a fine-tuned model keeps the shape and tokenizer of --init-from (only --dropout may change)")
        }
        let preset = try recipe.resolvedPreset()
        var loaded = try Checkpoint.load(from: checkpoint)
        let corpus = try Corpus(recipe.data.data)
        let skipsUnknown = recipe.data.skipUnknown == true
        // A conversation corpus may add the chat tokens to the tokenizer and grow the model first.
        let (dataset, skipped) = try trainingData(corpus, checkpoint: &loaded, templateFolder: checkpoint,
                                                  skippingUnknown: skipsUnknown, validationFraction: recipe.data.valFraction)
        var base = preset.training
        base.learningRate *= fineTuningLearningRateScale
        base.minimumLearningRate *= fineTuningLearningRateScale
        base.muonLearningRate *= fineTuningLearningRateScale
        if recipe.training.blockSize == nil { base.blockSize = min(base.blockSize, loaded.model.configuration.blockSize) }
        let settings = try recipe.settings(from: base)
        var model = loaded.model
        if let dropout = recipe.model.dropout, let gpt = loaded.model as? GPTLanguageModel {
            var configuration = gpt.configuration
            configuration.dropout = dropout
            try configuration.validate()
            var generator = SeededGenerator.forLoading
            let copy = GPTLanguageModel(configuration, generator: &generator)
            let tensors = gpt.namedParameters().map { ($0.name, (shape: $0.tensor.shape, values: $0.tensor.values)) }
            try copy.loadWeights(Dictionary(uniqueKeysWithValues: tensors), source: checkpoint.path)
            model = copy
        }
        let target = directory ?? defaultDirectory(preset: preset.name, fineTuned: true)
        try claim(target, overwrite: overwrite)
        return TrainingRun(trainer: try Trainer(model: model, dataset: dataset, settings: settings),
                           tokenizer: loaded.tokenizer, corpus: corpus, preset: preset.name, directory: target,
                           origin: .fineTuned(from: checkpoint.path), skipsUnknown: skipsUnknown, skipped: skipped,
                           companionFiles: loaded.companionFiles)
    }

    /// The run saved in `directory`, continued exactly (after a kill, its newest complete save). The recipe may only
    /// change `maxIters`; any other option is refused. Saves go to `output` (default: `directory`).
    public static func resume(_ directory: URL, recipe: TrainingRecipe = TrainingRecipe(), savingTo output: URL? = nil)
        throws -> TrainingRun {
        if let option = recipe.givenOptions.first(where: { $0 != "maxIters" }) {
            throw GPTError.invalidArgument(name: TrainingRecipe.flag(option), reason:
                "a resumed run keeps the model, data and settings it was saved with; only --max-iters may change")
        }
        TrainingCheckpoint.recover(directory)  // after a kill: the newest complete save back in place, leftovers gone
        let saved = try TrainingCheckpoint.load(directory)
        var checkpoint = saved.checkpoint
        let (state, optimizer) = (saved.state, saved.optimizer)
        var settings = state.settings
        if let maxIters = recipe.training.maxIters { settings.maxIterations = maxIters }
        try settings.validate()
        let corpus = try Corpus(state.data)
        let skipsUnknown = state.skipsUnknown == true
        let (dataset, skipped) = try trainingData(corpus, checkpoint: &checkpoint, templateFolder: nil,
                                                  skippingUnknown: skipsUnknown, validationFraction: state.validationFraction)
        let trainer = try Trainer(model: checkpoint.model, dataset: dataset, settings: settings)
        try trainer.restore(state, optimizerTensors: optimizer, source: directory.path)
        let target = output ?? directory
        let previous = TrainingLog.entries(in: target).filter {
            $0.step <= state.step && ($0.loss != nil || $0.step <= state.evaluatedStep)
        }
        return TrainingRun(trainer: trainer, tokenizer: checkpoint.tokenizer, corpus: corpus, preset: state.preset,
                           directory: target, origin: .resumed(step: state.step), skipsUnknown: skipsUnknown, skipped: skipped,
                           log: TrainingLog(directory: target, previous: previous), companionFiles: checkpoint.companionFiles)
    }

    /// Refuses a directory that holds a run, unless `overwrite` asks to delete that run first.
    static func claim(_ directory: URL, overwrite: Bool) throws {
        let found = TrainingCheckpoint.runFiles(in: directory)
        guard !found.isEmpty else { return }
        guard overwrite else {
            throw GPTError.invalidArgument(name: "--out \(directory.path)", reason: "it already holds a run (\(found[0])): "
                + "continue it with --resume, train into another --out, or add --overwrite to replace it")
        }
        TrainingCheckpoint.discardRun(in: directory)
    }
}
