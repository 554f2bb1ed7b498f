import Foundation
import LanguageModels

// Fixtures that several test files share: tiny model configurations, temporary directories, a toy corpus and the
// real `gpt` executable.

/// A GPT configuration small enough for a test: `layers` blocks of `heads` heads, `width` wide (`C`), a vocabulary of
/// `vocabularySize` tokens and a context of `blockSize`; the other options keep their defaults.
public func tinyGPTConfiguration(vocabularySize: Int = 11, blockSize: Int = 8, layers: Int = 2, heads: Int = 2,
                                 width: Int = 8) -> ModelConfiguration {
    var configuration = ModelConfiguration(modelType: .gpt, vocabSize: vocabularySize, blockSize: blockSize)
    (configuration.layerCount, configuration.headCount, configuration.embeddingSize) = (layers, heads, width)
    return configuration
}

/// A fresh path under the system's temporary directory, `gpt-<prefix>-<UUID>` (not created); remove it with
/// `defer { try? FileManager.default.removeItem(at: directory) }`.
public func temporaryDirectory(_ prefix: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("gpt-\(prefix)-\(UUID().uuidString)")
}

/// Writes `corpus.txt` into `directory` (created if missing): the three sentences of the seed example, 80 times,
/// 4,000 characters of a 24-character vocabulary. Returns its path.
@discardableResult
public func writeToyCorpus(in directory: URL) throws -> String {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let corpus = directory.appendingPathComponent("corpus.txt")
    try String(repeating: "I love dogs. I love cats. Dogs and cats are pets.\n", count: 80)
        .write(to: corpus, atomically: true, encoding: .utf8)
    return corpus.path
}

/// The `gpt` executable that `swift build` put beside the test bundle.
public var gptExecutable: URL {
    let candidates = [Bundle.main.executableURL?.deletingLastPathComponent(), Bundle.main.bundleURL,
                      Bundle.main.bundleURL.deletingLastPathComponent()].compactMap { $0?.appendingPathComponent("gpt") }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
}

/// The folder of the tiny GPT-2 chat model (`Tests/LanguageModelsTests/Fixtures/hf_gpt2_chat`, made by
/// `Scripts/make_hf_chat_fixtures.py`): ChatML's `<|im_start|>`/`<|im_end|>` added to a byte-level BPE, `eos_token`
/// `<|im_end|>`, trained by transformers until greedy decoding answers its one conversation (system "You are a
/// poet.", user "To be, or not to be?") with "That is the question." and `<|im_end|>`. It has no chat template.
public let chatFixtureFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Tests/LanguageModelsTests/Fixtures/hf_gpt2_chat")

/// The chat fixture's model read as `gpt import` reads it, with ChatML added as its `chat_template.jinja` unless
/// `template` is false.
public func chatFixtureCheckpoint(template: Bool = true) throws -> Checkpoint {
    var checkpoint = try ModelFormats.detect(chatFixtureFolder).read(chatFixtureFolder, tokenizer: nil, configuration: nil)
    if template { checkpoint.companionFiles["chat_template.jinja"] = Data(ChatTemplate.chatMLSource.utf8) }
    return checkpoint
}

/// The folder of the tiny GPT-2s saved by transformers (`Tests/LanguageModelsTests/Fixtures/hf_gpt2`, made by
/// `Scripts/make_hf_fixtures.py`: `tied` and `untied`, 65 tokens, 32 positions), with transformers' logits
/// (`expected.json`) and log-probabilities (`logprobs.json`, `Scripts/make_logprob_fixtures.py`).
public let gpt2FixtureFolder = chatFixtureFolder.deletingLastPathComponent().appendingPathComponent("hf_gpt2")

/// The tiny GPT-2 `name` (`tied` or `untied`) of ``gpt2FixtureFolder``, imported from transformers' files.
public func gpt2FixtureModel(_ name: String) throws -> GPTLanguageModel {
    let (configuration, tensors) = try HuggingFaceGPT2.load(gpt2FixtureFolder.appendingPathComponent(name))
    var generator = SeededGenerator(seed: 0)
    let model = GPTLanguageModel(configuration, generator: &generator)
    try model.loadWeights(try StateDictLayout.nanoGPT.nativeTensors(tensors, configuration: configuration), source: name)
    return model
}

/// transformers' log-probabilities for prompts of the tied model of ``gpt2FixtureFolder`` (`logprobs.json`): per
/// case the token ids, the stride of its windows past the model's `window` positions, and per token (none for the
/// first) its log-probability and the `top` most likely tokens with theirs.
public struct LogprobGolden: Decodable, Sendable {
    public struct Score: Decodable, Sendable {
        public var logprob: Double
        /// `[token, logprob]` pairs, most likely first.
        public var top: [[Double]]
    }
    public struct Case: Decodable, Sendable {
        public var ids: [Int]
        public var stride: Int
        public var top: Int
        public var scores: [Score?]
    }
    public var window: Int
    public var cases: [Case]

    /// The golden values of `logprobs.json`.
    public static func load() throws -> LogprobGolden {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: gpt2FixtureFolder.appendingPathComponent("logprobs.json")))
    }
}
