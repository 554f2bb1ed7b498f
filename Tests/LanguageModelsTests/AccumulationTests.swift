import Foundation
import LanguageModels
import NN
import TensorModule
import Testing

/// nanoGPT's gradient accumulation: N micro-batches of B sequences per step give the same step as one batch of
/// N x B sequences (the batches are drawn one after another from the same generator, so the rows are the same).
@Suite struct AccumulationTests {
    static func trainer(batchSize: Int, accumulation: Int, parts: Int?, clip: Float) throws -> Trainer {
        var generator = SeededGenerator(seed: 31)
        var configuration = AttentionTests.tinyConfiguration()
        configuration.blockSize = 8
        let model = GPTLanguageModel(configuration, generator: &generator)
        var settings = TrainingSettings()
        (settings.batchSize, settings.blockSize, settings.gradientAccumulationSteps) = (batchSize, 8, accumulation)
        (settings.maxIterations, settings.warmupIterations, settings.decayIterations) = (4, 0, 0)
        (settings.gradientClip, settings.learningRate) = (clip, 1e-2)
        let tokens = (0..<700).map { ($0 * 5 + $0 / 7) % 11 }
        let trainer = try Trainer(model: model, dataset: TextDataset(tokens: tokens), settings: settings)
        if let parts { trainer.dataParallelShards = parts }
        return trainer
    }

    @Test(arguments: [(1, Float(0)), (1, 0.05), (2, 0), (2, 0.05)])
    func accumulatedStepsEqualOneLargerBatch(parts: Int, clip: Float) throws {
        // clip 0.05 is below the gradient norm, so clipping acts on the accumulated gradient.
        let whole = try Self.trainer(batchSize: 8, accumulation: 1, parts: parts, clip: clip)
        let accumulated = try Self.trainer(batchSize: 2, accumulation: 4, parts: parts, clip: clip)
        for step in 0..<3 {
            let a = try whole.trainStep(), b = try accumulated.trainStep()
            #expect(abs(a - b) < 1e-5, "step \(step): loss \(a) vs \(b)")
        }
        for (p, q) in zip(whole.model.namedParameters(), accumulated.model.namedParameters()) {
            let difference = zip(p.tensor.values, q.tensor.values).map { abs($0 - $1) }.max() ?? 0
            #expect(difference < 1e-5, "\(p.name): \(difference)")
        }
    }

    @Test func accumulationIsSavedAndBounded() throws {
        var settings = TrainingSettings()
        settings.gradientAccumulationSteps = 0
        #expect(throws: GPTError.self) { try settings.validate() }
        settings.gradientAccumulationSteps = 8
        let decoded = try JSONDecoder().decode(TrainingSettings.self, from: JSONEncoder().encode(settings))
        #expect(decoded.gradientAccumulationSteps == 8)
        // A trainer.json written before the setting existed reads as 1.
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingSettings())) as! [String: Any]
        object["gradientAccumulationSteps"] = nil
        let old = try JSONDecoder().decode(TrainingSettings.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old == TrainingSettings())
    }
}
