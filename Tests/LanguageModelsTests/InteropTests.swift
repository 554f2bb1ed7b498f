import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

@Suite struct InteropTests {

    @Test func evaluationIsDeterministicAndSurvivesSaveAndLoad() throws {
        let model = SamplingTests.tinyGPT()
        let tokens = (0..<50).map { ($0 * 5 + 3) % 11 }
        let first = evaluate(model, tokens: tokens, characters: 50, batchSize: 3)
        #expect(first.tokens == 49)
        // By hand: windows of 8 predicting their next tokens, weighted by the tokens each scores.
        var total = 0.0
        for start in stride(from: 0, to: 49, by: 8) {
            let end = min(start + 8, 49)
            let loss = model.forward(Array(tokens[start..<end]), targets: Array(tokens[(start + 1)...end])).loss!.item
            total += Double(loss) * Double(end - start)
        }
        #expect(abs(first.meanLoss - total / 49) < 1e-6)
        let directory = temporaryDirectory("interop")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Checkpoint(model: model, tokenizer: SamplingTests.tokenizer).save(to: directory)
        let loaded = try Checkpoint.load(from: directory)
        #expect(evaluate(loaded.model, tokens: tokens, characters: 50, batchSize: 3) == first)
    }

    @Test func preparedDataRoundTripsThroughMappedFiles() throws {
        let directory = temporaryDirectory("interop")
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = String(repeating: "To be, or not to be: that is the question.\n", count: 20)
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: text))
        let counts = try PreparedData.write(text: text, tokenizer: tokenizer, to: directory)
        let size = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("train.bin").path)[.size] as! Int
        #expect(size == counts.train * 2)  // uint16
        let (dataset, loaded) = try PreparedData.load(directory.path)
        #expect(loaded == tokenizer)
        let expected = try tokenizer.encode(text)
        #expect(Array(dataset.trainTokens) + Array(dataset.validationTokens) == expected)
        // A file whose ids pass the vocabulary is refused.
        try Data([0xFF, 0xFF]).write(to: directory.appendingPathComponent("val.bin"))
        #expect(throws: GPTError.self) { try PreparedData.load(directory.path) }
    }

    @Test(arguments: StateDictLayout.allCases)
    func exportThenImportGivesIdenticalLogits(layout: StateDictLayout) throws {
        var generator = SeededGenerator(seed: 3)
        var configuration = AttentionTests.tinyConfiguration()
        if layout == .nanoGPT {
            (configuration.activation, configuration.tiedEmbeddings, configuration.lmHeadBias) = (.gelu, true, false)
            (configuration.bias, configuration.attentionBias) = (false, false)
        }
        let model = GPTLanguageModel(configuration, generator: &generator)
        let exported = try layout.exportTensors(model)
        #expect(StateDictLayout.detect(exported) == layout)
        let copy = GPTLanguageModel(configuration, generator: &generator)
        try copy.loadWeights(try layout.nativeTensors(exported, configuration: configuration), source: "export")
        let idx = [1, 2, 3, 4, 5, 6]
        #expect(copy.forward(idx).logits.values == model.forward(idx).logits.values)
    }

    @Test func incompatibleExportsNameTheField() {
        var generator = SeededGenerator(seed: 3)
        let lectureModel = GPTLanguageModel(AttentionTests.tinyConfiguration(), generator: &generator)  // ReLU, untied
        #expect(throws: GPTError.invalidConfiguration(field: "activation", reason: "must be gelu (and tie_weights=true, "
            + "lm_head_bias=false, attention_bias=true) for nanoGPT's GPT; train with --layout nanogpt")) {
            try StateDictLayout.nanoGPT.exportTensors(lectureModel)
        }
    }
}
