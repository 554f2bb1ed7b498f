import Foundation
@testable import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// Saves that survive any two kills: a save is stopped before each of its file-system steps in turn (as a
/// `kill -9` there would leave the disk), then the next save is stopped before each of its steps, and after every
/// stop the next start (``TrainingCheckpoint/recover(_:)``, then loading) must find a complete save.
@Suite struct SaveSequenceTests {
    /// Trains `trainer` one step and saves it into `run/latest`, stopped before step `stop` (nil: to the end);
    /// returns whether the save ran to its end.
    static func stepAndSave(_ trainer: Trainer, into run: URL, stoppingBefore stop: Int?) throws -> Bool {
        try trainer.trainStep()
        var steps = SaveSequence(stoppingBefore: stop)
        do {
            try TrainingCheckpoint.save(trainer, tokenizer: ResumeTests.tokenizer, state: trainer.state(data: nil, preset: "t"),
                                        to: run.appendingPathComponent("latest"), steps: &steps)
            return true
        } catch is SaveInterrupted {
            return false
        }
    }

    /// The number of steps of an uninterrupted save over an existing one.
    static func stepCount() throws -> Int {
        let run = temporaryDirectory("saves")
        defer { try? FileManager.default.removeItem(at: run) }
        let trainer = try ResumeTests.makeTrainer()
        _ = try stepAndSave(trainer, into: run, stoppingBefore: nil)
        var steps = SaveSequence()
        try TrainingCheckpoint.save(trainer, tokenizer: ResumeTests.tokenizer, state: trainer.state(data: nil, preset: "t"),
                                    to: run.appendingPathComponent("latest"), steps: &steps)
        return steps.count
    }

    @Test func anyTwoKillsInARowLeaveALoadableSave() throws {
        let count = try Self.stepCount()
        #expect(count >= 7)
        for first in 0...count {
            for second in 0...count {
                let run = temporaryDirectory("saves")
                defer { try? FileManager.default.removeItem(at: run) }
                let trainer = try ResumeTests.makeTrainer()
                #expect(try Self.stepAndSave(trainer, into: run, stoppingBefore: nil))  // a complete save of step 1
                let firstDone = try Self.stepAndSave(trainer, into: run, stoppingBefore: first)  // step 2, killed
                // The resumed run's first save is killed too, before it recovers (the worst case) ...
                let secondDone = try Self.stepAndSave(trainer, into: run, stoppingBefore: second)  // step 3, killed
                // ... and the start after that finds a complete save, no older than the newest that finished (a
                // save killed after its rename counts as done).
                TrainingCheckpoint.recover(run)
                let newest = secondDone ? 3 : (firstDone ? 2 : 1)
                let loaded = try TrainingCheckpoint.load(run).state.step
                #expect(loaded >= newest, "kills before steps \(first), \(second)")
                #expect((1...3).contains(loaded), "kills before steps \(first), \(second)")
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0 != "latest" }
                #expect(leftovers.isEmpty, "kills before steps \(first), \(second): \(leftovers)")
            }
        }
    }

    @Test func theFinalModelIsSwappedInWhole() throws {
        let run = temporaryDirectory("saves"), scratch = temporaryDirectory("saves")
        defer { [run, scratch].forEach { try? FileManager.default.removeItem(at: $0) } }
        let trainer = try ResumeTests.makeTrainer()
        #expect(try Self.stepAndSave(trainer, into: run, stoppingBefore: nil))  // latest/: the fallback
        // Two models of one configuration, saved over each other in turn.
        let models = [try ResumeTests.makeTrainer(seed: 1).model, try ResumeTests.makeTrainer(seed: 2).model]
        var bytes: [Data] = []
        for (index, model) in models.enumerated() {
            let url = scratch.appendingPathComponent("\(index)")
            try Checkpoint(model: model, tokenizer: ResumeTests.tokenizer).save(to: url)
            bytes.append(try Data(contentsOf: url.appendingPathComponent(Checkpoint.weightsFile)))
        }
        try Checkpoint(model: models[0], tokenizer: ResumeTests.tokenizer).save(to: run)
        var count = SaveSequence()
        try Checkpoint(model: models[1], tokenizer: ResumeTests.tokenizer).save(to: run, steps: &count)
        for stop in 0...count.count {
            let target = stop % 2
            var steps = SaveSequence(stoppingBefore: stop)
            var finished = true
            do { try Checkpoint(model: models[target], tokenizer: ResumeTests.tokenizer).save(to: run, steps: &steps) } catch is SaveInterrupted {
                finished = false
            }
            #expect(finished == (stop == count.count), "stop \(stop)")
            #expect(try Checkpoint.load(from: run).model.parameterCount == trainer.model.parameterCount, "stop \(stop)")
            if FileManager.default.fileExists(atPath: run.appendingPathComponent(Checkpoint.configurationFile).path) {
                // A top-level model is never a mix: its weights are one model's whole file.
                let weights = try Data(contentsOf: run.appendingPathComponent(Checkpoint.weightsFile))
                #expect(bytes.contains(weights), "stop \(stop)")
                if finished { #expect(weights == bytes[target]) }
            }
            TrainingCheckpoint.recover(run)
            let hidden = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix(".") }
            #expect(hidden.isEmpty, "stop \(stop): \(hidden)")
            // Put a whole top-level model back for the next round.
            try Checkpoint(model: models[1 - target], tokenizer: ResumeTests.tokenizer).save(to: run)
        }
    }
}
