import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

@Suite struct BigramTests {
    @Test func logitsAreTableRowsAndLossIsTheirCrossEntropy() {
        var generator = SeededGenerator(seed: 1)
        let model = BigramLanguageModel(vocabSize: 5, generator: &generator)
        let table = model.tokenEmbeddingTable.weight.values
        let idx = [0, 3, 3, 1], targets = [3, 3, 1, 4]
        let (logits, loss) = model.forward(idx, batchSize: 2, targets: targets)
        #expect(logits.shape == [2, 2, 5])
        for (position, token) in idx.enumerated() {
            #expect(Array(logits.values[(position * 5)..<(position * 5 + 5)]) == Array(table[(token * 5)..<(token * 5 + 5)]))
        }
        var expected = 0.0
        for (token, target) in zip(idx, targets) {
            let row = table[(token * 5)..<(token * 5 + 5)].map(Double.init)
            expected += log(row.map(exp).reduce(0, +)) - row[target]
        }
        #expect(abs(Double(loss!.item) - expected / 4) < 1e-5)
    }

    @Test func generateSamplesFromTheModel() {
        var generator = SeededGenerator(seed: 2)
        let model = BigramLanguageModel(vocabSize: 4, generator: &generator)
        // Make token 2 always follow token 1, overwhelmingly.
        let table = model.tokenEmbeddingTable.weight.storage.pointer
        for i in 0..<4 { for j in 0..<4 { table[i * 4 + j] = j == (i + 1) % 4 ? 50 : 0 } }
        var sampler = SeededGenerator(seed: 3)
        #expect(model.generate([1], maxNewTokens: 5, generator: &sampler) == [1, 2, 3, 0, 1, 2])
    }

    @Test func sameSeedSameLosses() throws {
        func run() throws -> [Float] {
            var generator = SeededGenerator(seed: 4)
            let model = BigramLanguageModel(vocabSize: 10, generator: &generator)
            var settings = TrainingPreset.bigram.training
            (settings.maxIterations, settings.batchSize) = (20, 4)
            let dataset = TextDataset(tokens: (0..<400).map { ($0 * 7) % 10 })
            let trainer = try Trainer(model: model, dataset: dataset, settings: settings)
            return try (0..<20).map { _ in try trainer.trainStep() }
        }
        let first = try run()
        #expect(first == (try run()))
        #expect(first.last! < first.first!)
    }
}

@Suite struct ConfigurationTests {
    @Test func impossibleConfigurationsNameTheField() {
        var configuration = AttentionTests.tinyConfiguration()
        configuration.embeddingSize = 9
        #expect(throws: GPTError.invalidConfiguration(field: "n_embd", reason: "(9) must be divisible by n_head (2)")) {
            try configuration.validate()
        }
        configuration = AttentionTests.tinyConfiguration()
        configuration.layerCount = 0
        #expect(throws: GPTError.invalidConfiguration(field: "n_layer", reason: "must be in 1...1024, got 0")) {
            try configuration.validate()
        }
    }

    @Test func jsonUsesNanoGPTKeys() throws {
        let data = try JSONEncoder().encode(AttentionTests.tinyConfiguration())
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        for key in ["n_layer", "n_head", "n_embd", "block_size", "vocab_size", "dropout", "bias"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(try JSONDecoder().decode(ModelConfiguration.self, from: data) == AttentionTests.tinyConfiguration())
    }

    @Test func trainingBlockLargerThanPositionTableIsRefused() throws {
        var generator = SeededGenerator(seed: 1)
        let model = GPTLanguageModel(AttentionTests.tinyConfiguration(), generator: &generator)
        var settings = TrainingSettings()
        settings.blockSize = 16
        #expect(throws: GPTError.self) {
            try Trainer(model: model, dataset: TextDataset(tokens: Array(repeating: 1, count: 500)), settings: settings)
        }
    }
}
