import Foundation
import LanguageModels
import TensorModule

/// Runs a ``TrainingRun`` in a terminal: its summary, a line per evaluation, a live progress line, an estimate of
/// the whole run once its first steps are timed, Ctrl-C as a request to save and stop, and a sample at the end.
struct TrainingReporter {
    let run: TrainingRun
    let sampleLength: Int

    /// Trains to the end; `false` when stopped by Ctrl-C (after saving).
    func train() throws -> Bool {
        let trainer = run.trainer, settings = trainer.settings
        let stopRequest = run.stopRequest
        let interrupt = InterruptHandler { stopRequest.set() }  // before the first line, so Ctrl-C is never lost
        defer { interrupt.cancel() }
        if settings.precision == .bfloat16, let name = ProcessInfo.processInfo.environment["GPT_BF16_KERNEL"], name != "none",
           BFloat16Kernel(name: name)?.isAvailable != true {
            print("GPT_BF16_KERNEL=\(name.prefix(40)) is not a bfloat16 kernel of this CPU; it runs: "
                + (BFloat16Kernel.allCases.filter(\.isAvailable).map(\.name) + ["none"]).joined(separator: ", "))
        }
        run.summary.forEach { print($0) }
        let clock = ContinuousClock()
        let started = clock.now
        let progress = ProgressLine()
        let estimate = RunEstimate(settings: settings)
        let finished = try run.train { event in
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
                progress.update(String(format: "step %d/%d  loss %.4f  %.0f tok/s  ETA %@", step, settings.maxIterations,
                                       loss, rate, formatDuration(left)))
            }
        }
        progress.clear()
        guard finished else {
            print("stopped at step \(trainer.step); saved to \(run.latestDirectory.path)")
            print("continue with: gpt train --resume \(run.directory.path)")
            return false
        }
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
        try TextGenerator(model: trainer.model, tokenizer: run.tokenizer).generate(prompt: [0], options: options) { piece in
            emit(piece.text)
            return !stopRequest.isSet
        }
        emit("\n")
        return true
    }
}
