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

    @Option(help: "bigram, tiny, baby, lecture or modern (see the README's table).") var preset = "baby"
    @Option(help: "A UTF-8 text file, or a folder written by `gpt prepare` (default: the bundled tiny shakespeare).")
    var data: String?
    @Option(help: "Where to save the run (default: runs/<preset>).") var out: String?
    @Flag(help: "Replace a run already saved in --out (its model, latest/, best/ and log are deleted).")
    var overwrite = false
    @Option(help: "char (Unicode scalars, the lecture), word, or bpe (byte-level BPE).") var tokenizer = "char"
    @Option(help: "Vocabulary size of a bpe tokenizer trained on the corpus.") var vocabSize = 512
    @Option(help: "Continue the run saved in this directory.") var resume: String?
    @Option(help: "Fine-tune: start a new run (fresh optimizer, new --out) from the model in this checkpoint.")
    var initFrom: String?
    @Option(name: .customLong("max-iters"), parsing: .unconditional,
            help: "Optimizer steps (default: the preset's; baby 2000).") var maxIterations: Int?
    @Option(parsing: .unconditional, help: "Sequences per step (default: the preset's; baby 12).") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Tokens of context per sequence (default: the preset's; baby 64).")
    var blockSize: Int?
    @Option(parsing: .unconditional, help: "Transformer blocks (default: the preset's; baby 4).") var layers: Int?
    @Option(parsing: .unconditional, help: "Attention heads per block (default: the preset's; baby 4).") var heads: Int?
    @Option(parsing: .unconditional, help: "Width of the embeddings (default: the preset's; baby 128).")
    var embeddingSize: Int?
    @Option(parsing: .unconditional, help: "Dropout probability while training (default: the preset's; baby 0).")
    var dropout: Float?
    @Option(help: "relu (the lecture), gelu (exact, nanoGPT), gelu_tanh (GPT-2's approximation) or relu2 (default: relu).")
    var activation: String?
    @Option(parsing: .unconditional, help: "Peak AdamW learning rate (default: the preset's; baby 1e-3).")
    var learningRate: Float?
    @Option(parsing: .unconditional, help: "Steps between evaluations and saves (default: the preset's; baby 250).")
    var evalInterval: Int?
    @Option(name: .customLong("eval-iters"), parsing: .unconditional,
            help: "Batches of each split per evaluation (default: the preset's; baby 20).") var evalIterations: Int?
    @Option(parsing: .unconditional, help: "Seed of the initial weights, batches and dropout (default: 1337).")
    var seed: UInt64?
    @Option(help: "lecture (ReLU, untied head with a bias; default) or nanogpt (exact GELU, tied head, no head bias).")
    var layout: String?
    @Flag(help: "Tie the lm head to the token embedding table (nanoGPT, GPT-2).") var tieWeights = false
    @OptionGroup(title: "Modern architecture (nanochat, the modded-nanogpt speedrun)") var architecture: ArchitectureOptions
    @OptionGroup(title: "Optimizer, precision and speedrun") var optimization: OptimizerOptions
    @Option(help: "Biases in the linear layers and layer norms (nanoGPT's bias; default: true).") var bias: Bool?
    @Option(parsing: .unconditional, help: "Micro-batches summed per optimizer step (nanoGPT's; default: 1).")
    var gradientAccumulationSteps: Int?
    @Option(parsing: .unconditional, help: "AdamW weight decay (default: the preset's; baby 0.1).") var weightDecay: Float?
    @Option(parsing: .unconditional, help: "AdamW beta1 (default: 0.9).") var beta1: Float?
    @Option(parsing: .unconditional, help: "AdamW beta2 (default: the preset's; baby 0.99).") var beta2: Float?
    @Option(parsing: .unconditional, help: "Clip the gradient norm at this value; 0: no clipping (default: baby 1.0).")
    var gradClip: Float?
    @Option(parsing: .unconditional, help: "Linear warm-up steps of the learning rate (default: baby 100).")
    var warmupIters: Int?
    @Option(name: .customLong("lr-decay-iters"), parsing: .unconditional,
            help: "Steps of the cosine decay to --min-lr (default: --max-iters for baby; 0: constant).") var decayIters: Int?
    @Option(parsing: .unconditional, help: "The learning rate at the end of the decay (default: baby 1e-4).")
    var minLr: Float?
    @Option(help: "true: cosine decay after the warm-up; false: a constant learning rate (default: the preset's).")
    var decayLr: Bool?
    @Option(parsing: .unconditional, help: "Tokens to sample after training (0: none).") var sampleLength = 500

    func run() throws {
        var interrupted = false
        try reportingErrors {
            let run = try resume.map { try resumedRun(URL(fileURLWithPath: $0)) } ?? newRun()
            interrupted = try !train(run)
        }
        if interrupted { throw ExitCode(130) }  // as a shell reports a process ended by Ctrl-C
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
        if let gradientAccumulationSteps { settings.gradientAccumulationSteps = gradientAccumulationSteps }
        if let weightDecay { settings.weightDecay = weightDecay }
        if let beta1 { settings.beta1 = beta1 }
        if let beta2 { settings.beta2 = beta2 }
        if let gradClip { settings.gradientClip = gradClip }
        if let warmupIters { settings.warmupIterations = warmupIters }
        if let decayIters { settings.decayIterations = decayIters }
        if let minLr { settings.minimumLearningRate = minLr }
        if decayLr == false { settings.decayIterations = 0 }
        if decayLr == true && settings.decayIterations == 0 { settings.decayIterations = settings.maxIterations }
        try optimization.apply(to: &settings)
        if let initFrom { return try fineTuningRun(from: initFrom, preset: preset, settings: settings) }
        try settings.validate()
        let (dataset, tokenizer) = try loadData(data, tokenizerKind: self.tokenizer, vocabularySize: vocabSize)
        var configuration = preset.model(tokenizer.vocabularySize)
        configuration.blockSize = settings.blockSize
        if let layers { configuration.layerCount = layers }
        if let heads { configuration.headCount = heads }
        if let embeddingSize { configuration.embeddingSize = embeddingSize }
        if let dropout { configuration.dropout = dropout }
        switch layout?.lowercased() {
        case nil, "lecture": break
        case "nanogpt":
            (configuration.activation, configuration.tiedEmbeddings, configuration.lmHeadBias) = (.gelu, true, false)
            configuration.attentionBias = configuration.bias
        default:
            throw GPTError.invalidArgument(name: "--layout", reason: "use lecture or nanogpt, not \(layout!.prefix(40))")
        }
        if let bias {
            configuration.bias = bias
            if layout?.lowercased() == "nanogpt" { configuration.attentionBias = bias }
        }
        if tieWeights { configuration.tiedEmbeddings = true }
        if let activation {
            guard let parsed = ModelConfiguration.Activation(rawValue: activation.lowercased()) else {
                throw GPTError.invalidArgument(name: "--activation", reason:
                    "use relu, gelu, gelu_tanh or relu2, not \(activation.prefix(40))")
            }
            configuration.activation = parsed
        }
        try architecture.apply(to: &configuration)
        let directory = URL(fileURLWithPath: out ?? "runs/\(preset.name)")
        try prepareRunDirectory(directory)
        var generator = SeededGenerator(seed: settings.seed)
        let model = try makeModel(configuration, generator: &generator)
        return Run(trainer: try Trainer(model: model, dataset: dataset, settings: settings), tokenizer: tokenizer,
                   dataPath: data, preset: preset.name, directory: directory, log: TrainingLog(directory: directory))
    }

    /// A new run that starts from a saved model (nanoGPT's `init_from`): its shape and tokenizer stay, the corpus
    /// is encoded with that tokenizer, the optimizer starts afresh, and the block size is at most the model's.
    func fineTuningRun(from path: String, preset: TrainingPreset, settings: TrainingSettings) throws -> Run {
        let shapeFlags: [(String, Any?)] = [("--layers", layers), ("--heads", heads), ("--embedding-size", embeddingSize),
            ("--activation", activation), ("--layout", layout), ("--tie-weights", tieWeights ? true : nil), ("--bias", bias),
            ("--tokenizer", tokenizer == "char" ? nil : tokenizer), (architecture.firstGiven ?? "", architecture.firstGiven)]
        if let flag = shapeFlags.first(where: { $0.1 != nil }) {
            throw GPTError.invalidArgument(name: flag.0, reason: "a fine-tuned model keeps the shape and tokenizer of --init-from")
        }
        let checkpoint = try Checkpoint.load(from: URL(fileURLWithPath: path))
        var settings = settings
        if blockSize == nil { settings.blockSize = min(settings.blockSize, checkpoint.model.configuration.blockSize) }
        try settings.validate()
        let dataset: TextDataset
        if let data, PreparedData.isPrepared(data) {
            let prepared = try PreparedData.load(data)
            guard prepared.tokenizer == checkpoint.tokenizer else {
                throw GPTError.invalidArgument(name: "--data", reason: "was prepared with another tokenizer than the model's")
            }
            dataset = prepared.dataset
        } else {
            let text = try readCorpus(at: try data ?? bundledCorpusPath())
            dataset = TextDataset(tokens: try checkpoint.tokenizer.encode(text), source: data ?? "tiny shakespeare")
        }
        let directory = URL(fileURLWithPath: out ?? "runs/\(preset.name)-finetuned")
        try prepareRunDirectory(directory)
        print("fine-tuning the model of \(path) (\(checkpoint.model.parameterCount) parameters)")
        return Run(trainer: try Trainer(model: checkpoint.model, dataset: dataset, settings: settings),
                   tokenizer: checkpoint.tokenizer, dataPath: data, preset: preset.name, directory: directory,
                   log: TrainingLog(directory: directory))
    }

    /// Refuses to train into a directory that holds a run, unless `--overwrite` asks to delete it first.
    func prepareRunDirectory(_ directory: URL) throws {
        let found = TrainingCheckpoint.runFiles(in: directory)
        guard !found.isEmpty else { return }
        guard overwrite else {
            throw GPTError.invalidArgument(name: "--out \(directory.path)", reason: "it already holds a run (\(found[0])): continue it "
                + "with --resume, train into another --out, or add --overwrite to replace it")
        }
        TrainingCheckpoint.discardRun(in: directory)
    }

    func resumedRun(_ directory: URL) throws -> Run {
        let shapeFlags: [(String, Any?)] = [("--batch-size", batchSize), ("--block-size", blockSize), ("--layers", layers),
            ("--heads", heads), ("--embedding-size", embeddingSize), ("--dropout", dropout), ("--activation", activation),
            ("--learning-rate", learningRate), ("--seed", seed), ("--data", data),
            ("--tokenizer", tokenizer == "char" ? nil : tokenizer), ("--eval-interval", evalInterval),
            ("--eval-iters", evalIterations), ("--overwrite", overwrite ? true : nil), ("--weight-decay", weightDecay),
            ("--layout", layout), ("--gradient-accumulation-steps", gradientAccumulationSteps), ("--init-from", initFrom), ("--tie-weights", tieWeights ? true : nil), ("--bias", bias),
            ("--beta1", beta1), ("--beta2", beta2), ("--grad-clip", gradClip), ("--warmup-iters", warmupIters),
            ("--lr-decay-iters", decayIters), ("--min-lr", minLr), ("--decay-lr", decayLr),
            (architecture.firstGiven ?? "", architecture.firstGiven), (optimization.firstGiven ?? "", optimization.firstGiven)]
        if let flag = shapeFlags.first(where: { $0.1 != nil }) {
            throw GPTError.invalidArgument(name: flag.0, reason:
                "a resumed run keeps the model, data and settings it was saved with; only --max-iters may change")
        }
        TrainingCheckpoint.recover(directory)  // after a kill: the newest complete save back in place, leftovers gone
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

    /// Trains `run` to its end, saving as it goes; returns `false` when stopped by Ctrl-C (after saving).
    func train(_ run: Run) throws -> Bool {
        let trainer = run.trainer, settings = trainer.settings, model = trainer.model
        let stopRequest = trainer.stopRequest
        let interrupt = InterruptHandler { stopRequest.set() }  // before the first line, so Ctrl-C is never lost
        defer { interrupt.cancel() }
        print("training \(run.preset) (\(model.parameterCount) parameters) on \(run.dataPath ?? "the bundled tiny shakespeare"): "
            + "\(trainer.dataset.trainTokens.count) train / \(trainer.dataset.validationTokens.count) val tokens, "
            + "vocab \(run.tokenizer.vocabularySize), \(MatrixBackend.current)")
        if settings.precision == .bfloat16 {
            if let name = ProcessInfo.processInfo.environment["GPT_BF16_KERNEL"], name != "none",
               BFloat16Kernel(name: name)?.isAvailable != true {
                print("GPT_BF16_KERNEL=\(name.prefix(40)) is not a bfloat16 kernel of this CPU; it runs: "
                    + (BFloat16Kernel.allCases.filter(\.isAvailable).map(\.name) + ["none"]).joined(separator: ", "))
            }
            print(trainer.productPrecision == .bfloat16
                ? "precision bf16: matrix products on bfloat16 inputs, summed in fp32, on \(KernelSettings.current.bfloat16Kernel!)"
                : "precision bf16: this CPU has neither AVX512-BF16 nor AMX, so the products run in fp32 (the run stays bf16 for a resume elsewhere)")
        }
        let evaluations = (settings.maxIterations - trainer.step + settings.evalInterval - 1) / settings.evalInterval
        let accumulation = settings.gradientAccumulationSteps > 1 ? " x \(settings.gradientAccumulationSteps) micro-batches" : ""
        print("\(settings.maxIterations - trainer.step) steps of \(settings.batchSize) x \(settings.blockSize) tokens\(accumulation); "
            + "an evaluation of \(2 * settings.evalIterations) batches every \(settings.evalInterval) steps "
            + "(\(evaluations + 1) in all, the last over \(settings.evalIterations + settings.finalEvalIterations))")
        let clock = ContinuousClock()
        let started = clock.now
        let progress = ProgressLine()
        let estimate = RunEstimate(settings: settings)
        let finished = try trainer.run(report: { event in
            run.log.record(event, learningRate: trainer.lastLearningRate)
            switch event {
            case .evaluation(let step, let train, let validation):
                progress.clear()
                print(String(format: "step %d: train loss %.4f, val loss %.4f", step, train, validation))
            case .evaluating(let step, let done, let total):
                if let line = estimate.evaluationBatch(done: done, step: step) {
                    progress.clear()
                    print(line)
                }
                progress.update("evaluating at step \(step): batch \(done)/\(total)")
            case .step(let step, let loss, let rate, let left):
                if let line = estimate.afterStep(step) {
                    progress.clear()
                    print(line)
                }
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
            return false
        }
        try Checkpoint(model: model, tokenizer: run.tokenizer).save(to: run.directory)
        print(String(format: "trained in %.1f s; saved to %@", (clock.now - started).seconds, run.directory.path))
        if let target = settings.targetValidationLoss {
            if let reached = trainer.reachedTarget {
                print(String(format: "reached val loss %.4f (target %.4f) at step %d: %.1f s wall, %d tokens",
                             reached.validationLoss, target, reached.step, reached.seconds, reached.tokens))
            } else {
                print(String(format: "did not reach val loss %.4f in %d steps", target, settings.maxIterations))
            }
        }
        guard sampleLength > 0 else { return true }
        print("--- sample ---")
        var options = SamplingOptions()
        (options.maxNewTokens, options.seed) = (sampleLength, settings.seed)
        try TextGenerator(model: model, tokenizer: run.tokenizer).generate(prompt: [0], options: options) { piece in
            emit(piece.text)
            return !stopRequest.isSet
        }
        emit("\n")
        return true
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

