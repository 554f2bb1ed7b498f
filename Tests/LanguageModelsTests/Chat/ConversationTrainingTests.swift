import Foundation
import Testing
import TensorModule
import _TestSupport
@testable import LanguageModels

/// Training on conversations: the loss reaches only the assistant's tokens, a conversation never sees another,
/// a model trained here grows ChatML's tokens, and a fine-tune on a `.jsonl` saves its template and resumes.
@Suite struct ConversationTrainingTests {
    static let tokenizer = ConversationDataTests.tokenizer

    static func model(vocabSize: Int = tokenizer.vocabularySize, blockSize: Int = 48) -> GPTLanguageModel {
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: vocabSize, blockSize: blockSize)
        (configuration.layerCount, configuration.headCount, configuration.embeddingSize) = (1, 2, 16)
        var generator = SeededGenerator(seed: 3)
        return GPTLanguageModel(configuration, generator: &generator)
    }

    static func dataset() throws -> ConversationDataset {
        let conversations = ["abc", "hello", "xy", "dog", "cat", "sun"].map {
            ConversationDataTests.conversation([("user", "upper: \($0)"), ("assistant", $0.uppercased())])
        }
        return try ConversationDataset(conversations, template: .chatML, tokenizer: tokenizer, source: "test")
    }

    @Test func theGradientThroughNonAssistantTokensIsZero() throws {
        let dataset = try Self.dataset(), model = Self.model()
        var generator = SeededGenerator(seed: 5)
        let (x, y) = dataset.batch(.train, batchSize: 3, blockSize: 48, generator: &generator)
        #expect(y.contains { $0 < 0 } && y.contains { $0 >= 0 })
        let (logits, loss) = model.forward(x, batchSize: 3, targets: y, training: false)
        loss!.backward()
        // The loss's gradient with respect to the logits (the graph frees its intermediates, so on a copy).
        let leaf = Tensor(shape: logits.shape, values: logits.values, requiresGrad: true)
        leaf.crossEntropy(targets: y).backward()
        let vocab = Self.tokenizer.vocabularySize, gradient = leaf.gradient!
        for (position, target) in y.enumerated() {
            let row = gradient[(position * vocab)..<((position + 1) * vocab)]
            if target < 0 {
                #expect(row.allSatisfy { $0 == 0 }, "position \(position) is not the assistant's but has a gradient")
            } else {
                #expect(row.contains { $0 != 0 })
            }
        }
        // Changing what a masked position would have predicted changes nothing: the same loss, the same gradients.
        let parameters = model.parameters.map { $0.gradient ?? [] }
        model.clearGradients()
        var other = y
        for i in other.indices where other[i] < 0 { other[i] = Tensor.ignoredTarget * 7 }
        let again = model.forward(x, batchSize: 3, targets: other, training: false).loss!
        again.backward()
        #expect(again.item == loss!.item)
        #expect(model.parameters.map { $0.gradient ?? [] } == parameters)
    }

    @Test func aConversationNeverAttendsAcrossAnother() throws {
        let dataset = try Self.dataset(), model = Self.model()
        let vocab = Self.tokenizer.vocabularySize, t = 48
        let first = dataset.train[0], second = dataset.train[1]
        let alone = model.forward(first.row(blockSize: t).x).logits.values
        // Beside another conversation in the batch, and with other padding after it: the same logits over its tokens.
        let pair = model.forward(first.row(blockSize: t).x + second.row(blockSize: t).x, batchSize: 2).logits.values
        let repadded = model.forward(first.row(blockSize: t, padding: 7).x).logits.values
        let span = first.tokens.count * vocab
        #expect(Array(pair.prefix(span)) == Array(alone.prefix(span)))
        #expect(Array(repadded.prefix(span)) == Array(alone.prefix(span)))
        // The second row is the second conversation alone.
        let secondAlone = model.forward(second.row(blockSize: t).x).logits.values
        #expect(Array(pair[(t * vocab)...].prefix(second.tokens.count * vocab)) == Array(secondAlone.prefix(second.tokens.count * vocab)))
    }

    @Test func growingTheVocabularyKeepsTheOldLogitsAndAddsMeanRows() throws {
        let model = Self.model(vocabSize: 30)
        let grown = try model.growingVocabulary(to: 32)
        #expect(grown.configuration.vocabSize == 32)
        let input = [1, 5, 9, 2]
        let before = model.forward(input).logits.values, after = grown.forward(input).logits.values
        for position in 0..<input.count {
            #expect(Array(after[(position * 32)..<(position * 32 + 30)]) == Array(before[(position * 30)..<(position * 30 + 30)]))
        }
        let table = grown.tokenEmbeddingTable.weight.values, c = 16
        for j in 0..<c {
            let mean = (0..<30).map { table[$0 * c + j] }.reduce(0, +) / 30
            #expect(abs(table[30 * c + j] - mean) < 1e-6 && table[31 * c + j] == table[30 * c + j])
        }
    }

    @Test func aFineTuneOnConversationsAddsChatMLSavesItsTemplateAndResumes() throws {
        let data = try TrainingRunTests.corpusFolder()
        defer { try? FileManager.default.removeItem(at: data.deletingLastPathComponent()) }
        let root = data.deletingLastPathComponent()
        var pretraining = TrainingRunTests.tinyRecipe(data: data)
        pretraining.training.blockSize = 32
        try TrainingRun.start(pretraining, in: root.appendingPathComponent("base")).train()
        let base = try Checkpoint.load(from: root.appendingPathComponent("base"))
        let chats = root.appendingPathComponent("chats.jsonl")
        let lines = ["dog", "fox", "box", "jug", "lazy"].map {
            #"{"messages": [{"role": "user", "content": "the \#($0)"}, {"role": "assistant", "content": "\#($0)"}]}"#
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: chats)
        var recipe = TrainingRecipe(preset: "tiny")
        recipe.data.data = chats.path
        (recipe.training.maxIters, recipe.training.evalInterval, recipe.training.evalIters) = (2, 1, 1)
        (recipe.training.batchSize, recipe.training.blockSize) = (2, 32)
        recipe.data.valFraction = 0.4
        let ft = root.appendingPathComponent("ft")
        let run = try TrainingRun.fineTune(from: root.appendingPathComponent("base"), recipe: recipe, in: ft)
        #expect(run.tokenizer.vocabularySize == base.tokenizer.vocabularySize + 2)
        #expect(run.trainer.model.configuration.vocabSize == base.model.configuration.vocabSize + 2)
        #expect(run.summary.contains { $0.contains("3 training and 2 held-out conversations") })
        #expect(try run.train())
        for folder in [ft, ft.appendingPathComponent("latest"), ft.appendingPathComponent("best")] {
            #expect(try ChatTemplate.source(inCheckpoint: folder) == ChatTemplate.chatMLSource, "\(folder.path)")
            #expect(try Checkpoint.load(from: folder).tokenizer.specialTokenID("<|im_end|>") != nil)
        }
        var longer = TrainingRecipe()
        longer.training.maxIters = 3
        let resumed = try TrainingRun.resume(ft, recipe: longer)
        #expect((resumed.trainer.dataset as? ConversationDataset)?.validation.count == 2, "the held-out share is kept")
        #expect(try resumed.train())
        #expect(resumed.trainer.step == 3)
        // A new run refuses conversations: they are for a fine-tune.
        var fresh = TrainingRunTests.tinyRecipe(data: chats)
        fresh.data.data = chats.path
        #expect(throws: GPTError.self) { try TrainingRun.start(fresh, in: root.appendingPathComponent("new")) }
        // A text corpus's split is fixed.
        recipe.data.data = data.appendingPathComponent("a.txt").path
        #expect(throws: TrainingRun.validationFractionRefusal) {
            try TrainingRun.fineTune(from: root.appendingPathComponent("base"), recipe: recipe, in: root.appendingPathComponent("text"))
        }
    }
}
