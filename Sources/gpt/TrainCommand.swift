import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (default: the baby GPT on the bundled tiny shakespeare), save it, print a sample.")

    @Option(help: "bigram, tiny, baby or lecture.") var preset = "baby"
    @Option(help: "A UTF-8 text file (default: the bundled tiny shakespeare).") var data: String?
    @Option(help: "Where to save the model (default: runs/<preset>).") var out: String?
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

            let path = try data ?? bundledCorpusPath()
            let text = try readCorpus(at: path)
            let tokenizer = Tokenizer.character(CharacterTokenizer(training: text))
            let dataset = TextDataset(tokens: try tokenizer.encode(text), source: path)

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
            let trainer = try Trainer(model: model, dataset: dataset, settings: settings)

            print("training \(preset.name) (\(model.parameterCount) parameters) on \(path): "
                + "\(dataset.trainTokens.count) train / \(dataset.validationTokens.count) val tokens, "
                + "vocab \(tokenizer.vocabularySize), \(MatrixBackend.current)")
            let directory = URL(fileURLWithPath: out ?? "runs/\(preset.name)")
            let log = TrainingLog(directory: directory)
            let clock = ContinuousClock()
            let started = clock.now
            let progress = ProgressLine()
            var logError: Error?
            try trainer.run { event in
                log.record(event, learningRate: trainer.lastLearningRate)
                switch event {
                case .evaluation(let step, let train, let validation):
                    progress.clear()
                    print(String(format: "step %d: train loss %.4f, val loss %.4f", step, train, validation))
                    do { try log.write() } catch { logError = error }
                case .step(let step, let loss, let rate, let left):
                    progress.update(String(
                        format: "step %d/%d  loss %.4f  %.0f tok/s  ETA %@", step, settings.maxIterations, loss, rate,
                        formatDuration(left)))
                }
            }
            progress.clear()
            if let logError { throw logError }
            try Checkpoint(model: model, tokenizer: tokenizer).save(to: directory)
            print(String(format: "trained in %.1f s; saved to %@", (clock.now - started).seconds, directory.path))

            print("--- sample ---")
            var options = SamplingOptions()
            (options.maxNewTokens, options.seed) = (sampleLength, settings.seed)
            let textGenerator = TextGenerator(model: model, tokenizer: tokenizer)
            if sampleLength > 0 {
                try textGenerator.generate(prompt: [0], options: options) { piece in
                    emit(piece.text)
                    return true
                }
                emit("\n")
            }
        }
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
