import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

/// The GPT against PyTorch on the same weights: logits, loss, every gradient and the weights after one AdamW step,
/// from fixtures written by `Scripts/make_parity_fixtures.py` (both the lecture's and nanoGPT's layouts) and
/// `Scripts/make_modern_fixtures.py` (rotary positions, RMSNorm without gain, QK-norm, ReLU², 2 key/value heads for
/// 4 query heads, an untied head, no biases, a soft-cap and an embedding norm).
@Suite struct ParityTests {
    static func fixture(_ name: String) throws -> SafeTensors.File {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "safetensors"))
        return try SafeTensors.read(url)
    }

    struct Settings: Decodable {
        let learning_rate: Float, beta1: Float, beta2: Float, weight_decay: Float, decay_all: Bool
    }

    @Test(arguments: StateDictLayout.allCases)
    func matchesPyTorch(layout: StateDictLayout) throws {
        try check(prefix: layout.rawValue, layout: layout)
    }

    @Test func modernLayoutMatchesPyTorch() throws {
        try check(prefix: "modern", layout: .nanoGPT)
    }

    func check(prefix: String, layout: StateDictLayout) throws {
        let weights = try Self.fixture("\(prefix)_weights"), io = try Self.fixture("\(prefix)_io")
        let gradients = try Self.fixture("\(prefix)_grads"), stepped = try Self.fixture("\(prefix)_step")
        let configuration = try JSONDecoder().decode(ModelConfiguration.self, from: Data(weights.metadata["config"]!.utf8))
        #expect(StateDictLayout.detect(weights.tensors) == layout)

        var generator = SeededGenerator(seed: 0)
        let model = GPTLanguageModel(configuration, generator: &generator)
        try model.loadWeights(try layout.nativeTensors(weights.tensors, configuration: configuration), source: prefix)

        let idx = io.tensors["idx"]!.values.map { Int($0) }, targets = io.tensors["targets"]!.values.map { Int($0) }
        let batch = io.tensors["idx"]!.shape[0]
        let (logits, loss) = model.forward(idx, batchSize: batch, targets: targets)
        #expect(compare(logits.values, io.tensors["logits"]!.values, absolute: 1e-5, relative: 1e-4).passed, "logits")
        #expect(compare([loss!.item], io.tensors["loss"]!.values, absolute: 0, relative: 1e-5).passed, "loss")

        loss!.backward()
        let expectedGradients = try layout.nativeTensors(gradients.tensors, configuration: configuration)
        let named = model.namedParameters()
        #expect(Set(named.map(\.name)) == Set(expectedGradients.keys))
        for (name, parameter) in named {
            let result = compare(parameter.gradient ?? [], expectedGradients[name]!.values, absolute: 1e-6, relative: 1e-4)
            #expect(result.passed, "gradient of \(name): \(result)")
        }

        let settings = try JSONDecoder().decode(Settings.self, from: Data(stepped.metadata["adamw"]!.utf8))
        let optimizer = AdamW(
            parameters: model.parameters,
            settings: .init(learningRate: settings.learning_rate, beta1: settings.beta1, beta2: settings.beta2,
                            weightDecay: settings.weight_decay),
            decayAll: settings.decay_all)
        optimizer.update()
        let expectedWeights = try layout.nativeTensors(stepped.tensors, configuration: configuration)
        for (name, parameter) in named {
            let result = compare(parameter.values, expectedWeights[name]!.values, absolute: 1e-6, relative: 1e-4)
            #expect(result.passed, "\(name) after one AdamW step: \(result)")
        }
    }
}
