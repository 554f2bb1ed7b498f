import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

/// Training a batch in parts side by side (`Trainer.dataParallelShards`) against training it whole.
@Suite struct DataParallelTests {
    static func makeTrainer(dropout: Float, shards: Int, gradientClip: Float = 1) throws -> Trainer {
        var generator = SeededGenerator(seed: 9)
        let model = GPTLanguageModel(AttentionTests.tinyConfiguration(dropout: dropout), generator: &generator)
        var settings = TrainingSettings()
        (settings.batchSize, settings.blockSize, settings.maxIterations) = (5, 8, 10)
        settings.gradientClip = gradientClip
        let tokens = (0..<400).map { ($0 * 5 + $0 / 3) % 11 }
        let trainer = try Trainer(model: model, dataset: TextDataset(tokens: tokens), settings: settings)
        trainer.dataParallelShards = shards
        return trainer
    }

    /// The same mean loss and the same weights after three AdamW steps, for 2 and 3 parts (3 does not divide the
    /// batch of 5: the parts are weighted by their rows).
    @Test(arguments: [2, 3]) func partsGiveTheWholeBatchResult(shards: Int) throws {
        let whole = try Self.makeTrainer(dropout: 0, shards: 1), parts = try Self.makeTrainer(dropout: 0, shards: shards)
        for step in 1...3 {
            let (a, b) = (try whole.trainStep(), try parts.trainStep())
            #expect(abs(a - b) <= 1e-5 * abs(a), "step \(step): \(a) vs \(b)")
        }
        for (p, q) in zip(whole.model.parameters, parts.model.parameters) {
            let result = compare(q.values, p.values, absolute: 1e-5, relative: 1e-4)
            #expect(result.passed, "\(result)")
            let gradients = compare(q.gradient ?? [], p.gradient ?? [], absolute: 1e-6, relative: 1e-4)
            #expect(gradients.passed, "gradient: \(gradients)")
        }
    }

    /// The trainer clips through a factor on the gradients AdamW reads (the norm from the parts' combination, or its
    /// own pass): the same weights as `clipGradientNorm` on the gradients followed by a plain update, step by step,
    /// with a limit low enough that every step clips.
    @Test(arguments: [1, 2]) func clippingByFactorMatchesClippingInPlace(shards: Int) throws {
        let trainer = try Self.makeTrainer(dropout: 0, shards: shards, gradientClip: 0.05)
        let manual = try Self.makeTrainer(dropout: 0, shards: 1, gradientClip: 0.05)
        let settings = manual.settings
        for step in 1...3 {
            try trainer.trainStep()
            let (x, y) = manual.dataset.batch(.train, batchSize: settings.batchSize, blockSize: settings.blockSize,
                                              generator: &manual.generator)
            manual.model.clearGradients()
            manual.model.forward(x, batchSize: settings.batchSize, targets: y, training: true).loss!.backward()
            let norm = clipGradientNorm(manual.model.parameters, maximumNorm: settings.gradientClip)
            #expect(norm > settings.gradientClip, "step \(step) clips")
            manual.optimizer.settings.learningRate = learningRate(
                step: step - 1, maximum: settings.learningRate, minimum: settings.minimumLearningRate,
                warmupSteps: settings.warmupIterations, decaySteps: settings.decayIterations)
            manual.optimizer.update()
        }
        for (p, q) in zip(manual.model.parameters, trainer.model.parameters) {
            let result = compare(q.values, p.values, absolute: 1e-6, relative: 1e-5)
            #expect(result.passed, "\(result)")
        }
    }

    /// With dropout each part draws its own masks from streams split off the model's generator: the same seed
    /// gives the same losses, bit for bit.
    @Test func partsWithDropoutAreReproducible() throws {
        let first = try Self.makeTrainer(dropout: 0.2, shards: 2), second = try Self.makeTrainer(dropout: 0.2, shards: 2)
        for _ in 1...3 { #expect(try first.trainStep() == second.trainStep()) }
    }
}
