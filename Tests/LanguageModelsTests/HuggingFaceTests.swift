import Foundation
import LanguageModels
import TensorModule
import Testing

/// A GPT2LMHeadModel saved by transformers (Conv1D weights, tied and untied, tanh and exact GELU) imports with
/// logits equal to transformers' (fixtures from `Scripts/make_hf_fixtures.py`).
@Suite struct HuggingFaceTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("hf_gpt2")

    @Test(arguments: ["tied", "untied"])
    func logitsEqualTransformers(name: String) throws {
        let directory = Self.fixtures.appendingPathComponent(name)
        #expect(HuggingFaceGPT2.isModelDirectory(directory))
        let (configuration, tensors) = try HuggingFaceGPT2.load(directory)
        #expect(configuration.tiedEmbeddings == (name == "tied"))
        #expect(configuration.activation == (name == "tied" ? .geluTanh : .gelu))
        var generator = SeededGenerator(seed: 0)
        let model = GPTLanguageModel(configuration, generator: &generator)
        try model.loadWeights(try StateDictLayout.nanoGPT.nativeTensors(tensors, configuration: configuration), source: name)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("expected.json"))) as! [String: Any]
        let ids = expected["ids"] as! [Int]
        let reference = (expected[name] as! [Double]).map(Float.init)
        let logits = model.forward(ids).logits.values
        #expect(logits.count == reference.count)
        let difference = zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference < 1e-4, "max |logit difference| \(difference)")
    }
}
