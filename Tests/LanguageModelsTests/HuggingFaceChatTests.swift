import Foundation
import LanguageModels
import Testing

/// A GPT-2 fine-tuned for chat, as transformers saves it: `<|im_start|>` and `<|im_end|>` added past the byte-level
/// vocabulary, embedding rows for them (`resize_token_embeddings`), tokenizer.json beside the weights (fixtures from
/// `Scripts/make_hf_chat_fixtures.py`). Imported as `gpt import` reads a folder, the special tokens stay whole, their
/// rows stay, and greedy decoding gives transformers' ids, `<|im_end|>` included.
@Suite struct HuggingFaceChatTests {
    struct Expected: Decodable {
        var prompt: String
        var promptIDs: [Int], greedy: [Int], margins: [Double]
        var vocabSize: Int, imStart: Int, imEnd: Int

        enum CodingKeys: String, CodingKey {
            case prompt, greedy, margins
            case promptIDs = "prompt_ids", vocabSize = "vocab_size", imStart = "im_start", imEnd = "im_end"
        }
    }

    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("hf_gpt2_chat")

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
    }

    @Test func importKeepsTheAddedTokensAndTheirRows() throws {
        let expected = try Self.expected()
        let format = try ModelFormats.detect(Self.folder)
        #expect(format.name == "hf")
        let checkpoint = try format.read(Self.folder, tokenizer: nil, configuration: nil)
        #expect(checkpoint.model.configuration.vocabSize == expected.vocabSize)
        #expect(checkpoint.tokenizer.vocabularySize == expected.vocabSize)
        #expect(expected.imEnd == expected.vocabSize - 1, "the added tokens are the last rows")
        #expect(try checkpoint.tokenizer.encode(expected.prompt) == expected.promptIDs)
        #expect(expected.promptIDs.filter { $0 == expected.imStart }.count == 3)
    }

    @Test func greedyIDsEqualTransformers() throws {
        let expected = try Self.expected()
        #expect(expected.margins.min()! > 1e-3, "transformers' greedy choices are not near-ties")
        let checkpoint = try ModelFormats.detect(Self.folder).read(Self.folder, tokenizer: nil, configuration: nil)
        let generator = TextGenerator(model: checkpoint.model, tokenizer: checkpoint.tokenizer)
        var options = SamplingOptions()
        (options.temperature, options.maxNewTokens) = (0, expected.greedy.count)
        var greedy: [Int] = []
        try generator.generate(prompt: try generator.promptTokens(expected.prompt), options: options) { piece in
            greedy += piece.tokens.map(\.token)
            return true
        }
        #expect(greedy == expected.greedy)
        #expect(greedy.last == expected.imEnd)
    }
}
