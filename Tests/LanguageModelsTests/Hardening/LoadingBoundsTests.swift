import Foundation
import LanguageModels
import Testing

/// Issue 28's findings about what loading builds: sizes compared before a model exists, weights whose forward
/// overflows refused, a long context that reserves nothing it does not use.
@Suite struct LoadingBoundsTests {
    @Test func anAbsurdConfigurationBesideItsWeightsFailsBeforeTheModelIsBuilt() throws {
        let folder = try ModelFormatTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("m.safetensors")
        _ = try ModelFormats.named("nanogpt").write(ModelFormatTests.checkpoint(.nanoGPT), to: url, options: ExportOptions())
        let full = url.deletingPathExtension().appendingPathExtension("swift-gpt.json")
        var configuration: ModelConfiguration = try JSONDecoder().decode(ModelConfiguration.self, from: Data(contentsOf: full))
        (configuration.layerCount, configuration.embeddingSize, configuration.headCount) = (16, 2048, 16)  // 3.2 GB
        try Checkpoint.json(configuration).write(to: full)
        let clock = ContinuousClock(), start = clock.now
        do {
            _ = try ModelFormats.detect(url).read(url, tokenizer: nil, configuration: nil)
            Issue.record("a configuration of 3.2 GB beside 3 kB of weights was read")
        } catch GPTError.invalidCheckpoint(_, let reason) {
            #expect(reason.contains("describes a model of"), "\(reason)")
        }
        #expect(clock.now - start < .seconds(2), "refused before allocating the model")
    }

    @Test func finiteWeightsWhoseForwardOverflowsAreRefusedAtLoad() throws {
        let checkpoint = ModelFormatTests.checkpoint(.nanoGPT)
        let model = try #require(checkpoint.model as? GPTLanguageModel)
        let weight = model.blocks[0].feedForward.expand.weight
        for i in 0..<weight.count { weight.storage.pointer[i] = 3e38 }
        let folder = try ModelFormatTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = folder.appendingPathComponent("run")
        try checkpoint.save(to: directory)
        #expect(throws: GPTError.self) { try Checkpoint.load(from: directory) }
        do { _ = try Checkpoint.load(from: directory) } catch GPTError.invalidCheckpoint(_, let reason) {
            #expect(reason.contains("overflow"))
        }
    }

    @Test func aLongRotaryContextReservesOnlyWhatAGenerationReaches() throws {
        var configuration = AttentionTests.tinyConfiguration()
        ModelLayout.modern.apply(to: &configuration)
        configuration.blockSize = 1 << 20  // no weight depends on it in a rotary model
        try configuration.validate()
        #expect(KVCache(configuration, positions: 5).capacity == 5)
        #expect(KVCache(configuration, positions: 1 << 30).capacity == 1 << 20)
        var generator = SeededGenerator(seed: 4)
        let model = GPTLanguageModel(configuration, generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(vocabulary: (0..<11).map { Unicode.Scalar(UInt8(97 + $0)) }))
        var options = SamplingOptions()
        (options.maxNewTokens, options.temperature) = (5, 0)
        var text = ""
        try TextGenerator(model: model, tokenizer: tokenizer).generate(prompt: [1, 2], options: options) { piece in
            text += piece.text
            return true
        }
        #expect(text.unicodeScalars.count == 5)
    }
}

extension LoadingBoundsTests {
    /// A rotary model's weights do not depend on its block size, so with windows bounded at 16 a model whose block
    /// size is 2^20 scores a text exactly as the same weights with a block size of 16 do.
    @Test func anEvaluationUnderALongRotaryContextScoresBoundedWindows() throws {
        var short = AttentionTests.tinyConfiguration()
        ModelLayout.modern.apply(to: &short)
        short.blockSize = 16
        var long = short
        long.blockSize = 1 << 20
        var generator = SeededGenerator(seed: 4)
        let reference = GPTLanguageModel(short, generator: &generator)
        generator = SeededGenerator(seed: 4)
        let model = GPTLanguageModel(long, generator: &generator)
        let weights = reference.namedParameters().map { ($0.name, (shape: $0.tensor.shape, values: $0.tensor.values)) }
        try model.loadWeights(Dictionary(uniqueKeysWithValues: weights), source: "test")
        let tokens = (0..<100).map { ($0 * 7) % 11 }
        let bounded = evaluate(model, tokens: tokens, characters: 100, maximumWindow: 16)
        #expect(bounded.meanLoss == evaluate(reference, tokens: tokens, characters: 100).meanLoss)
        #expect(bounded.meanLoss != evaluate(model, tokens: tokens, characters: 100).meanLoss, "one window of 99")
    }
}
