import ArgumentParser
import Dispatch
import Foundation
import LanguageModels
import NN
import TensorModule

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (default: the baby GPT on the bundled tiny shakespeare), save it, print a sample.",
        discussion: """
            Saves the run in --out: latest/ and best/ (resumable, after each evaluation), log.jsonl, loss.svg, and \
            the final model. Ctrl-C saves latest/ and exits; `gpt train --resume DIR` continues exactly.
            """)

    @Option(help: "bigram, tiny, baby or lecture.") var preset = "baby"
    @Option(help: "A UTF-8 text file (default: the bundled tiny shakespeare).") var data: String?
    @Option(help: "Where to save the run (default: runs/<preset>).") var out: String?
    @Option(help: "char (Unicode scalars, the lecture), word, or bpe (byte-level BPE).") var tokenizer = "char"
    @Option(help: "Vocabulary size of a bpe tokenizer trained on the corpus.") var vocabSize = 512
    @Option(help: "Continue the run saved in this directory.") var resume: String?
    @Option(name: .customLong("max-iters"), help: "Optimizer steps.") var maxIterations: Int?
    @Option var batchSize: Int?
    @Option var blockSize: Int?
    @Option var layers: Int?
    @Option var heads: Int?
    @Option var embeddingSize: Int?
    @Option var dropout: Float?
    @Option(help: "ReLU (the lecture) or GELU (GPT-2).") var activation: String?
    @Option var learningRate: Float?
    @Option var evalInterval: Int?
    @Option(name: .customLong("eval-iters")) var evalIterations: Int?
    @Option var seed: UInt64?
    @Option(help: "Characters to sample after training.") var sampleLength = 500

    func run() throws {
        try reportingErrors {
            let run = try resume.map { try resumedRun(URL(fileURLWithPath: $0)) } ?? newRun()
            try train(run)
        }
    }

    /// What a run trains: model, tokenizer, data, settings, where it saves.
    struct Run {
        var trainer: Trainer
        var tokenizer: Tokenizer
        var dataPath: String?
        var preset: String
        var directory: URL
        var log: TrainingLog
    }

    func newRun() throws -> Run {
        let preset = try TrainingPreset.named(preset)
        var settings = preset.training
        if let maxIterations { settings.maxIterations = maxIterations }
        if let maxIterations, preset.training.decayIterations > 0 { settings.decayIterations = maxIterations }
        if let batchSize { settings.batchSize = batchSize }
        if let blockSize { settings.blockSize = blockSize }
        if let learningRate { settings.learningRate = learningRate }
        if let evalInterval { settings.evalInterval = evalInterval }
        if let evalIterations { settings.evalIterations = evalIterations }
        if let seed { settings.seed = seed }
        try settings.validate()
        let (dataset, tokenizer) = try loadData(data, tokenizerKind: self.tokenizer, vocabularySize: vocabSize)
        var configuration = preset.model(tokenizer.vocabularySize)
        configuration.blockSize = settings.blockSize
        if let layers { configuration.layerCount = layers }
        if let heads { configuration.headCount = heads }
        if let embeddingSize { configuration.embeddingSize = embeddingSize }
        if let dropout { configuration.dropout = dropout }
        if let activation {
            guard let parsed = ModelConfiguration.Activation(rawValue: activation.lowercased()) else {
                throw GPTError.invalidArgument(name: "--activation", reason: "use relu or gelu, not \(activation)")
            }
            configuration.activation = parsed
        }
        var generator = SeededGenerator(seed: settings.seed)
        let model = try makeModel(configuration, generator: &generator)
        let directory = URL(fileURLWithPath: out ?? "runs/\(preset.name)")
        return Run(trainer: try Trainer(model: model, dataset: dataset, settings: settings), tokenizer: tokenizer,
                   dataPath: data, preset: preset.name, directory: directory, log: TrainingLog(directory: directory))
    }

    func resumedRun(_ directory: URL) throws -> Run {
        let shapeFlags: [(String, Any?)] = [("--batch-size", batchSize), ("--block-size", blockSize), ("--layers", layers),
            ("--heads", heads), ("--embedding-size", embeddingSize), ("--dropout", dropout), ("--activation", activation),
            ("--learning-rate", learningRate), ("--seed", seed), ("--data", data),
            ("--tokenizer", tokenizer == "char" ? nil : tokenizer)]
        if let flag = shapeFlags.first(where: { $0.1 != nil }) {
            throw GPTError.invalidArgument(name: flag.0, reason:
                "a resumed run keeps the model, data and settings it was saved with; only --max-iters may change")
        }
        let (checkpoint, state, optimizer) = try TrainingCheckpoint.load(directory)
        var settings = state.settings
        if let maxIterations { settings.maxIterations = maxIterations }
        let dataset: TextDataset
        if let path = state.data, PreparedData.isPrepared(path) {
            dataset = try PreparedData.load(path).dataset
        } else {
            let text = try readCorpus(at: try state.data ?? bundledCorpusPath())
            dataset = TextDataset(tokens: try checkpoint.tokenizer.encode(text), source: state.data ?? "tiny shakespeare")
        }
        let trainer = try Trainer(model: checkpoint.model, dataset: dataset, settings: settings)
        try trainer.restore(state, optimizerTensors: optimizer, source: directory.path)
        let runDirectory = out.map { URL(fileURLWithPath: $0) } ?? directory
        let previous = TrainingLog.entries(in: runDirectory).filter { $0.step <= state.step && ($0.loss != nil || $0.step <= state.evaluatedStep) }
        print("resuming \(state.preset) at step \(state.step) of \(settings.maxIterations)")
        return Run(trainer: trainer, tokenizer: checkpoint.tokenizer, dataPath: state.data, preset: state.preset,
                   directory: runDirectory, log: TrainingLog(directory: runDirectory, previous: previous))
    }

    func train(_ run: Run) throws {
        let trainer = run.trainer, settings = trainer.settings, model = trainer.model
        print("training \(run.preset) (\(model.parameterCount) parameters) on \(run.dataPath ?? "the bundled tiny shakespeare"): "
            + "\(trainer.dataset.trainTokens.count) train / \(trainer.dataset.validationTokens.count) val tokens, "
            + "vocab \(run.tokenizer.vocabularySize), \(MatrixBackend.current)")
        let stopRequest = trainer.stopRequest
        let interrupt = InterruptHandler { stopRequest.set() }
        defer { interrupt.cancel() }
        let clock = ContinuousClock()
        let started = clock.now
        let progress = ProgressLine()
        let finished = try trainer.run(report: { event in
            run.log.record(event, learningRate: trainer.lastLearningRate)
            switch event {
            case .evaluation(let step, let train, let validation):
                progress.clear()
                print(String(format: "step %d: train loss %.4f, val loss %.4f", step, train, validation))
            case .step(let step, let loss, let rate, let left):
                progress.update(String(
                    format: "step %d/%d  loss %.4f  %.0f tok/s  ETA %@", step, settings.maxIterations, loss, rate,
                    formatDuration(left)))
            }
        }, save: { isBest in
            // The log first: a kill between the two leaves a log ahead of the save (trimmed on resume), never behind.
            try run.log.write()
            let state = trainer.state(data: run.dataPath, preset: run.preset)
            try TrainingCheckpoint.save(trainer, tokenizer: run.tokenizer, state: state,
                                        to: run.directory.appendingPathComponent("latest"))
            if isBest {
                try TrainingCheckpoint.save(trainer, tokenizer: run.tokenizer, state: state,
                                            to: run.directory.appendingPathComponent("best"))
            }
        })
        progress.clear()
        guard finished else {
            print("stopped at step \(trainer.step); saved to \(run.directory.appendingPathComponent("latest").path)")
            print("continue with: gpt train --resume \(run.directory.path)")
            return
        }
        try Checkpoint(model: model, tokenizer: run.tokenizer).save(to: run.directory)
        print(String(format: "trained in %.1f s; saved to %@", (clock.now - started).seconds, run.directory.path))
        guard sampleLength > 0 else { return }
        print("--- sample ---")
        var options = SamplingOptions()
        (options.maxNewTokens, options.seed) = (sampleLength, settings.seed)
        try TextGenerator(model: model, tokenizer: run.tokenizer).generate(prompt: [0], options: options) { piece in
            emit(piece.text)
            return true
        }
        emit("\n")
    }
}

/// The dataset and tokenizer for `--data`: a prepared folder (memory-mapped, with its own tokenizer), or a text file
/// (default: the bundled tiny shakespeare) tokenized by a new tokenizer of the given kind.
func loadData(_ path: String?, tokenizerKind: String, vocabularySize: Int) throws -> (TextDataset, Tokenizer) {
    if let path, PreparedData.isPrepared(path) { return try PreparedData.load(path) }
    let text = try readCorpus(at: try path ?? bundledCorpusPath())
    let tokenizer = try Tokenizer.training(tokenizerKind, on: text, vocabularySize: vocabularySize)
    return (TextDataset(tokens: try tokenizer.encode(text), source: path ?? "tiny shakespeare"), tokenizer)
}

/// Turns the first Ctrl-C into a request to stop after the current step (and save); a second one ends at once.
final class InterruptHandler {
    private let source: DispatchSourceSignal
    private let flag = CancellationFlag()

    init(_ onInterrupt: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let flag = self.flag
        source.setEventHandler {
            if flag.isSet { exit(130) }
            flag.set()
            printError("\ninterrupted: saving after this step (Ctrl-C again to quit without saving)")
            onInterrupt()
        }
        source.resume()
    }

    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

/// A live status line on a terminal (rewritten in place, at most 10 times a second); on a pipe or file, a plain
/// line every few seconds so logs stay readable.
final class ProgressLine {
    private let isTerminal = isatty(2) != 0
    private var lastUpdate = ContinuousClock.now
    private var shown = false

    func update(_ text: String) {
        let now = ContinuousClock.now
        let interval: Duration = isTerminal ? .milliseconds(100) : .seconds(5)
        guard now - lastUpdate >= interval else { return }
        lastUpdate = now
        if isTerminal {
            printError("\r\u{1B}[K" + text, terminator: "")
            shown = true
        } else {
            printError(text)
        }
    }

    func clear() {
        if shown { printError("\r\u{1B}[K", terminator: "") }
        shown = false
    }
}
