import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

@Suite struct ResumeTests {
    static let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghijk"))

    static func makeTrainer(seed: UInt64 = 5, optimizer: String = "adamw", target: Float? = nil,
                            precision: MatrixPrecision = .float32) throws -> Trainer {
        var generator = SeededGenerator(seed: seed)
        var configuration = AttentionTests.tinyConfiguration(dropout: 0.1)  // dropout: its generator must resume too
        configuration.blockSize = 8
        let model = GPTLanguageModel(configuration, generator: &generator)
        var settings = TrainingSettings()
        (settings.batchSize, settings.blockSize, settings.maxIterations) = (4, 8, 24)
        (settings.evalInterval, settings.evalIterations, settings.finalEvalIterations) = (8, 2, 2)
        (settings.warmupIterations, settings.decayIterations) = (4, 24)
        (settings.optimizer, settings.targetValidationLoss, settings.precision) = (optimizer, target, precision)
        if optimizer == "normuon" {  // Muon with the three 2026 refinements: NorMuon's second moment resumes too
            (settings.optimizer, settings.muonPolarExpress, settings.muonBeta2) = ("muon", true, 0.95)
            (settings.muonCautiousWeightDecay, settings.muonWeightDecay) = (true, 0.1)
        }
        let tokens = (0..<600).map { ($0 * 7 + $0 / 5) % 11 }
        return try Trainer(model: model, dataset: TextDataset(tokens: tokens), settings: settings)
    }

    func losses(_ trainer: Trainer, stopAt: Int? = nil, save: @escaping (Trainer) throws -> Void = { _ in }) throws -> [Int: Float] {
        var losses: [Int: Float] = [:]
        try trainer.run(report: { event in
            if case .step(let step, let loss, _, _) = event {
                losses[step] = loss
                if step == stopAt { trainer.stopRequest.set() }
            }
        }, save: { _ in try save(trainer) })
        return losses
    }

    @Test(arguments: ["adamw", "muon", "normuon"])
    func resumedRunRepeatsTheUninterruptedLossesBitForBit(optimizerName: String) throws {
        try checkResume(optimizerName: optimizerName, precision: .float32)
    }

    /// A bf16 run resumes in bf16 (saved with it) and repeats the uninterrupted run's losses bit for bit.
    @Test func resumedBFloat16RunRepeatsTheUninterruptedLossesBitForBit() throws {
        try KernelSettings.with(BFloat16TrainingTests.bfloat16Settings) {
            try checkResume(optimizerName: "adamw", precision: .bfloat16)
        }
    }

    func checkResume(optimizerName: String, precision: MatrixPrecision) throws {
        let uninterrupted = try losses(try Self.makeTrainer(optimizer: optimizerName, precision: precision))
        #expect(uninterrupted.count == 24)

        let directory = temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let latest = directory.appendingPathComponent("latest")
        let first = try losses(try Self.makeTrainer(optimizer: optimizerName, precision: precision), stopAt: 13) { trainer in
            try TrainingCheckpoint.save(trainer, tokenizer: Self.tokenizer, state: trainer.state(data: nil, preset: "test"), to: latest)
        }
        #expect(first.count == 13)

        // A save killed half-way leaves a staging directory behind; loading ignores it.
        let staging = directory.appendingPathComponent(".latest.saving-crashed")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try Data("{".utf8).write(to: staging.appendingPathComponent("trainer.json"))

        let (checkpoint, state, optimizer) = try TrainingCheckpoint.load(directory)
        #expect(state.step == 13 && state.settings.precision == precision)
        #expect(optimizer.keys.contains { $0.hasPrefix("momentum_buffer.") } == (optimizerName != "adamw"))
        #expect(optimizer.keys.contains { $0.hasPrefix("second_momentum_buffer.") } == (optimizerName == "normuon"))
        let resumed = try Trainer(model: checkpoint.model, dataset: try Self.makeTrainer().dataset, settings: state.settings)
        try resumed.restore(state, optimizerTensors: optimizer, source: directory.path)
        let second = try losses(resumed)
        #expect(second.count == 11)
        for step in 14...24 { #expect(second[step] == uninterrupted[step], "step \(step)") }
        for step in 1...13 { #expect(first[step] == uninterrupted[step], "step \(step)") }
    }

    @Test func aSpeedrunStopsAtTheFirstEvaluationAtItsTarget() throws {
        let unreachable = try Self.makeTrainer(target: 0)
        _ = try losses(unreachable)
        #expect(unreachable.step == 24 && unreachable.reachedTarget == nil)
        // The first evaluation after step 0 whose loss is at or below the target: choose the target from a full run.
        let full = try Self.makeTrainer()
        var evaluations: [(step: Int, loss: Float)] = []
        try full.run(report: { if case .evaluation(let step, _, let loss) = $0 { evaluations.append((step, loss)) } })
        let target = evaluations[2].loss  // step 16
        let speedrun = try Self.makeTrainer(target: target)
        _ = try losses(speedrun)
        let first = evaluations.first { $0.loss <= target }!
        #expect(speedrun.reachedTarget?.step == first.step && speedrun.step == first.step)
        #expect(speedrun.reachedTarget?.tokens == first.step * 4 * 8)
    }

    @Test func aStopDuringAnEvaluationResumesBitForBit() throws {
        let uninterrupted = try losses(try Self.makeTrainer())
        let directory = temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let latest = directory.appendingPathComponent("latest")
        let first = try Self.makeTrainer()
        var evaluations: [Int] = []
        let finished = try first.run(report: { event in
            switch event {
            case .evaluating(let step, let done, _) where step == 16 && done == 2: first.stopRequest.set()
            case .evaluation(let step, _, _): evaluations.append(step)
            default: break
            }
        }, save: { _ in
            try TrainingCheckpoint.save(first, tokenizer: Self.tokenizer, state: first.state(data: nil, preset: "t"), to: latest)
        })
        #expect(!finished)
        #expect(evaluations == [0, 8])  // the evaluation at step 16 was abandoned half-way
        let (checkpoint, state, optimizer) = try TrainingCheckpoint.load(directory)
        #expect(state.step == 16 && state.evaluatedStep == 8)
        let resumed = try Trainer(model: checkpoint.model, dataset: try Self.makeTrainer().dataset, settings: state.settings)
        try resumed.restore(state, optimizerTensors: optimizer, source: directory.path)
        let second = try losses(resumed)
        for step in 17...24 { #expect(second[step] == uninterrupted[step], "step \(step)") }
    }

    @Test func aSaveInterruptedBetweenRenamesFallsBackToTheOldCopy() throws {
        let directory = temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Self.makeTrainer()
        try trainer.trainStep()
        try TrainingCheckpoint.save(trainer, tokenizer: Self.tokenizer, state: trainer.state(data: nil, preset: "test"),
                                    to: directory.appendingPathComponent("latest"))
        // Simulate a crash after `latest` was moved aside and before the new save took its place.
        try FileManager.default.moveItem(at: directory.appendingPathComponent("latest"),
                                         to: directory.appendingPathComponent("latest.old"))
        #expect(try TrainingCheckpoint.load(directory).state.step == 1)
    }

    @Test func nonFiniteWeightsAreNeverSaved() throws {
        let directory = temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Self.makeTrainer()
        trainer.model.parameters[0].storage.pointer[0] = .nan
        #expect(throws: GPTError.self) {
            try TrainingCheckpoint.save(trainer, tokenizer: Self.tokenizer, state: trainer.state(data: nil, preset: "t"),
                                        to: directory.appendingPathComponent("latest"))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("latest").path))
        // And training stops with a message naming the step.
        #expect(throws: GPTError.nonFiniteLoss(step: 1)) { try trainer.trainStep() }
    }
}
