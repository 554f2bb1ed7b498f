import Foundation
import TensorModule

extension TrainingRun {
    /// Set from any thread (a Ctrl-C handler) to stop after the current step or evaluation batch, saving first.
    public var stopRequest: CancellationFlag { trainer.stopRequest }

    /// What the run is about to do, in a few lines for a person: the model, the corpus, the steps and evaluations.
    public var summary: [String] {
        let settings = trainer.settings, model = trainer.model
        var lines: [String] = []
        switch origin {
        case .new: break
        case .resumed(let step): lines.append("resuming \(preset) at step \(step) of \(settings.maxIterations)")
        case .fineTuned(let path):
            lines.append("fine-tuning the model of \(path) (\(model.parameterCount) parameters) at a peak learning rate "
                + "of \(String(format: "%g", settings.learningRate))")
        }
        lines.append("training \(preset) (\(model.parameterCount) parameters) on \(corpus.description): "
            + "\(trainer.dataset.tokenCount(.train)) train / \(trainer.dataset.tokenCount(.validation)) val tokens, "
            + "vocab \(tokenizer.vocabularySize), \(MatrixBackend.current)")
        if let conversationSummary { lines.append(conversationSummary) }
        if let skipped { lines.append("left out of the corpus, outside the model's vocabulary: \(skipped)") }
        if let notice = precisionNotice { lines.append(notice) }
        let evaluations = (settings.maxIterations - trainer.step + settings.evalInterval - 1) / settings.evalInterval
        let accumulation = settings.gradientAccumulationSteps > 1 ? " x \(settings.gradientAccumulationSteps) micro-batches" : ""
        lines.append("\(settings.maxIterations - trainer.step) steps of \(settings.batchSize) x \(settings.blockSize) tokens"
            + "\(accumulation); an evaluation of \(2 * settings.evalIterations) batches every \(settings.evalInterval) steps "
            + "(\(evaluations + 1) in all, the last over \(settings.evalIterations + settings.finalEvalIterations))")
        if let bytes = try? Trainer.memoryEstimate(model.configuration, settings: settings) {
            lines.append("memory: about \(formatBytes(bytes)) (weights, gradients, optimizer state, one batch's activations)")
        }
        return lines
    }

    /// Which kernel runs a bf16 run's products, or why none does (`nil` for an fp32 run).
    var precisionNotice: String? {
        guard trainer.settings.precision == .bfloat16 else { return nil }
        return trainer.productPrecision == .bfloat16
            ? "precision bf16: matrix products on bfloat16 inputs, summed in fp32, on \(KernelSettings.current.bfloat16Kernel!)"
            : "precision bf16: this CPU has neither AVX512-BF16 nor AMX, so the products run in fp32 (the run stays bf16 for a resume elsewhere)"
    }

    /// Trains to the last step, reporting each event and saving as it goes: after each evaluation the log, then
    /// `latest/` (and `best/` when the validation loss is the best yet); at the end the final model in the run
    /// directory. Returns `false` when stopped by ``stopRequest`` (after saving `latest/`).
    @discardableResult
    public func train(report: (TrainingEvent) -> Void = { _ in }) throws -> Bool {
        let finished = try trainer.run(report: { event in
            log.record(event, learningRate: trainer.lastLearningRate)
            report(event)
        }, save: { isBest in
            // The log first: a kill between the two leaves a log ahead of the save (trimmed on resume), never behind.
            try log.write()
            let state = trainer.state(data: corpus.path, preset: preset, skipsUnknown: skipsUnknown ? true : nil,
                                      validationFraction: (trainer.dataset as? ConversationDataset)?.validationFraction)
            try TrainingCheckpoint.save(trainer, tokenizer: tokenizer, state: state, to: latestDirectory,
                                        companionFiles: companionFiles)
            if isBest {
                try TrainingCheckpoint.save(trainer, tokenizer: tokenizer, state: state,
                                            to: directory.appendingPathComponent("best"), companionFiles: companionFiles)
            }
        })
        guard finished else { return false }
        var checkpoint = Checkpoint(model: trainer.model, tokenizer: tokenizer)
        checkpoint.companionFiles = companionFiles
        try checkpoint.save(to: directory)
        return true
    }

    /// The run's newest resumable save.
    public var latestDirectory: URL { directory.appendingPathComponent("latest") }
}
