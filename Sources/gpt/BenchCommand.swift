import ArgumentParser
import Foundation
import LanguageModels
import NN
import TensorModule

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training steps of the GPT presets (as ../shared/bench/torch_reference.py does).")

    @Option(help: "Comma-separated presets.") var presets = "tiny,baby"
    @Option var steps = 20
    @Option var warmup = 3
    @Flag(help: "Also time KV-cached sampling of --sample-tokens tokens from an untrained model of each preset.")
    var sample = false
    @Option var sampleTokens = 200

    func run() throws {
        try reportingErrors {
            let text = try readCorpus(at: try bundledCorpusPath())
            let tokenizer = CharacterTokenizer(training: text)
            let dataset = TextDataset(tokens: try tokenizer.encode(text))
            print("backend: \(MatrixBackend.current), cores: \(kernelThreadCount)")
            for name in presets.split(separator: ",").map(String.init) {
                let preset = try TrainingPreset.named(name)
                guard preset.name != "bigram" else { continue }
                var generator = SeededGenerator(seed: 1337)
                let configuration = preset.model(tokenizer.vocabularySize)
                let model = try makeModel(configuration, generator: &generator)
                let trainer = try Trainer(model: model, dataset: dataset, settings: preset.training)
                for _ in 0..<warmup { try trainer.trainStep() }
                let clock = ContinuousClock()
                let elapsed = try clock.measure { for _ in 0..<steps { try trainer.trainStep() } }.seconds / Double(steps)
                let tokens = Double(preset.training.batchSize * preset.training.blockSize)
                let c = configuration
                let flops = 6 * Double(model.parameterCount) * tokens
                    + 6 * Double(c.layerCount * c.blockSize * c.blockSize * c.embeddingSize * preset.training.batchSize)
                print(String(format: "swift config=%@ params=%d ms_per_step=%.1f tok_per_s=%.0f gflops=%.1f",
                             name, model.parameterCount, elapsed * 1000, tokens / elapsed, flops / elapsed / 1e9))
                if sample {
                    let generator = TextGenerator(model: model, tokenizer: .character(tokenizer))
                    var options = SamplingOptions()
                    options.maxNewTokens = sampleTokens
                    let seconds = try clock.measure {
                        try generator.generate(prompt: [0], options: options) { _ in true }
                    }.seconds
                    print(String(format: "swift config=%@ sample_tok_per_s=%.1f (kv cache, context %d)", name,
                                 Double(sampleTokens) / seconds, configuration.blockSize))
                }
            }
        }
    }
}
