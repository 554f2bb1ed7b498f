import Dispatch
import Foundation
import LanguageModels
import TensorModule

/// Turns the first Ctrl-C into a request to stop after the current step (and save); a second one ends at once.
final class InterruptHandler {
    private let source: DispatchSourceSignal
    private let flag = CancellationFlag()

    init(_ onInterrupt: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let flag = self.flag
        source.setEventHandler {
            // `_exit`, not `exit`: no atexit handlers or runtime teardown while worker threads are mid-kernel.
            if flag.isSet {
                printError("\ninterrupted again: quitting without saving")
                _exit(130)
            }
            flag.set()
            printError("\ninterrupted: saving after this step or evaluation batch (Ctrl-C again to quit without saving)")
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

/// The whole run's expected wall time, printed once the first steps are timed: steps left times the time per
/// step, plus the evaluations left times the time per evaluation batch (from the first evaluation seen).
final class RunEstimate {
    private let settings: TrainingSettings
    private let clock = ContinuousClock()
    private var evaluationStart: ContinuousClock.Instant?
    private var secondsPerEvaluationBatch: Double?
    private var stepsStart: ContinuousClock.Instant?
    private var stepsTimed = 0
    private var printed = false

    init(settings: TrainingSettings) { self.settings = settings }

    /// After each evaluation batch; once three are timed and no step has been, the first estimate (a training step
    /// costs about three forward passes), so a run that starts with a long evaluation shows one at once.
    func evaluationBatch(done: Int, step: Int) -> String? {
        stepsStart = nil
        if done == 1 { evaluationStart = clock.now }
        guard done == 4, let evaluationStart else { return nil }
        let perBatch = (clock.now - evaluationStart).seconds / 3
        secondsPerEvaluationBatch = perBatch
        guard !printed else { return nil }
        printed = true
        return line(perStep: 3 * perBatch, perBatch: perBatch, stepsLeft: settings.maxIterations - step,
                    batchesLeftNow: 2 * settings.evalIterations - done)
    }

    /// The estimate line, once: after three timed steps (the first step after an evaluation is not timed).
    func afterStep(_ step: Int) -> String? {
        guard !printed else { return nil }
        guard let stepsStart else {
            stepsStart = clock.now
            stepsTimed = 0
            return nil
        }
        stepsTimed += 1
        guard stepsTimed >= 3 || (clock.now - stepsStart).seconds > 10 else { return nil }
        printed = true
        let perStep = (clock.now - stepsStart).seconds / Double(stepsTimed)
        // Without a timed evaluation, a forward-only batch costs about a third of a step.
        return line(perStep: perStep, perBatch: secondsPerEvaluationBatch ?? perStep / 3,
                    stepsLeft: settings.maxIterations - step, batchesLeftNow: 0)
    }

    private func line(perStep: Double, perBatch: Double, stepsLeft: Int, batchesLeftNow: Int) -> String {
        let evaluationsLeft = stepsLeft / settings.evalInterval
        let batchesLeft = batchesLeftNow + evaluationsLeft * 2 * settings.evalIterations + settings.evalIterations
            + settings.finalEvalIterations
        let total = Double(stepsLeft) * perStep + Double(batchesLeft) * perBatch
        return String(format: "estimated time left: %@ (%.3g s a step, %.3g s an evaluation batch)",
                      formatDuration(total), perStep, perBatch)
    }
}
