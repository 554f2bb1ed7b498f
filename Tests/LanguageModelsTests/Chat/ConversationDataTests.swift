import Foundation
import Testing
@testable import LanguageModels

/// Conversation files (OpenAI's fine-tuning JSON Lines), their encoding with the assistant's tokens marked, and the
/// character tokenizer's special tokens that ChatML needs.
@Suite struct ConversationDataTests {
    static let good = #"{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "reverse: abc"}, {"role": "assistant", "content": "cba"}]}"#

    /// A character tokenizer for the test conversations, with ChatML's special tokens.
    static let tokenizer = Tokenizer.character(CharacterTokenizer(
        training: "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ:\n").adding(specialTokens: ChatTemplate.chatMLSpecialTokens))

    static func conversation(_ pairs: [(String, String)]) -> Conversation {
        Conversation(messages: pairs.map { ChatMessage(role: $0.0, content: $0.1) })
    }

    @Test func aFileOfConversationsIsReadSkippingBlankLines() throws {
        let conversations = try ConversationFile.parse(Self.good + "\n\n" + Self.good + "\n", source: "chats.jsonl")
        #expect(conversations.count == 2)
        #expect(conversations[1].line == 3)
        #expect(conversations[0].messages.map(\.role) == ["system", "user", "assistant"])
        #expect(conversations[0].messages[2].content == "cba")
    }

    @Test(arguments: [
        ("{\"messages\": [", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ("{\"prompt\": \"hi\"}", "no \"messages\""),
        ("{\"messages\": {}}", "\"messages\" is not a list"),
        ("{\"messages\": []}", "\"messages\" is empty"),
        ("{\"messages\": [3]}", "message 0 is not an object"),
        ("{\"messages\": [{\"content\": \"x\"}]}", "message 0 has no \"role\" string"),
        ("{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", "message 0 has the unknown role \"robot\""),
        ("{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "message 0's \"content\" is not a string"),
        ("{\"messages\": [{\"role\": \"assistant\"}]}", "message 0 has no \"content\""),
        ("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", "no assistant message"),
    ])
    func aBadLineIsRefusedNamingItsNumberAndWhatIsWrong(line: String, problem: String) {
        do {
            _ = try ConversationFile.parse(Self.good + "\n" + line + "\n", source: "chats.jsonl")
            Issue.record("accepted \(line)")
        } catch let error as ConversationFileError {
            guard case .badLine(let path, let number, let found) = error else { Issue.record("\(error)"); return }
            #expect(path == "chats.jsonl" && number == 2)
            #expect(found.hasPrefix(problem), "\(found)")
        } catch {
            Issue.record("untyped error \(error)")
        }
    }

    @Test func aFileWithoutConversationsIsRefused() {
        #expect(throws: ConversationFileError.unreadable(path: "empty.jsonl", reason: "it holds no conversation")) {
            try ConversationFile.parse("\n  \n", source: "empty.jsonl")
        }
    }

    @Test func specialTokensAreMatchedWholeDecodedAndSavedInTokenizerJSON() throws {
        let tokenizer = Self.tokenizer
        guard case .character(let characters) = tokenizer else { Issue.record("not a character tokenizer"); return }
        let start = characters.vocabulary.count
        #expect(tokenizer.vocabularySize == start + 2)
        #expect(try tokenizer.encode("<|im_start|>ab<|im_end|>") == [start] + (try tokenizer.encode("ab")) + [start + 1])
        #expect(tokenizer.decode([start, start + 1]) == "<|im_start|><|im_end|>")
        #expect(tokenizer.specialTokenID("<|im_end|>") == start + 1)
        let reread = try Tokenizer(huggingFaceJSON: tokenizer.huggingFaceJSON(), source: "tokenizer.json")
        #expect(reread == tokenizer)
        // Adding tokens the tokenizer has already changes nothing.
        #expect(try tokenizer.adding(specialTokens: ChatTemplate.chatMLSpecialTokens) == tokenizer)
    }

    @Test func aBytePairTokenizerTakesTheSpecialTokensAsAddedTokensAndAWordTokenizerRefusesThem() throws {
        let bpe = try Tokenizer.training("bpe", on: String(repeating: "hello there, hello you. ", count: 20), vocabularySize: 270)
        let chat = try bpe.adding(specialTokens: ChatTemplate.chatMLSpecialTokens)
        #expect(chat.vocabularySize == bpe.vocabularySize + 2)
        #expect(chat.specialTokenID("<|im_start|>") == bpe.vocabularySize)
        #expect(try chat.encode("<|im_end|>hello") == [bpe.vocabularySize + 1] + (try bpe.encode("hello")))
        #expect(try Tokenizer(huggingFaceJSON: chat.huggingFaceJSON(), source: "tokenizer.json") == chat)
        let word = try Tokenizer.training("word", on: "hello there")
        #expect(throws: GPTError.self) { try word.adding(specialTokens: ChatTemplate.chatMLSpecialTokens) }
    }

    @Test func theTrainedTokensAreExactlyTheAssistantsTurnsWithTheirEndOfTurn() throws {
        let conversation = Self.conversation([("system", "be brief"), ("user", "reverse: abc"), ("assistant", "cba"),
                                              ("user", "upper: ab"), ("assistant", "AB")])
        let encoded = try EncodedConversation(conversation, template: .chatML, tokenizer: Self.tokenizer)
        #expect(encoded.tokens.count == encoded.trained.count)
        #expect(Self.tokenizer.decode(encoded.tokens) == (try ChatTemplate.chatML.render(messages: conversation.messages)))
        // The trained tokens, run by run.
        var runs: [String] = [], current: [Int] = []
        for (token, trained) in zip(encoded.tokens, encoded.trained) {
            if trained { current.append(token) } else if !current.isEmpty { runs.append(Self.tokenizer.decode(current)); current = [] }
        }
        if !current.isEmpty { runs.append(Self.tokenizer.decode(current)) }
        #expect(runs == ["cba<|im_end|>", "AB<|im_end|>"])
    }

    @Test func withoutGenerationMarksTheSpansComeFromRenderedPrefixes() throws {
        // ChatML without {% generation %}: the same text; each span then runs to the end of its message's render.
        let plain = try ChatTemplate(source: ChatTemplate.chatMLSource
            .replacingOccurrences(of: "{% generation %}", with: "").replacingOccurrences(of: "{% endgeneration %}", with: ""))
        let messages = [("user", "reverse: abc"), ("assistant", "cba"), ("user", "upper: ab"), ("assistant", "AB")]
            .map { ChatMessage(role: $0.0, content: $0.1) }
        let marked = try ChatTemplate.chatML.assistantSpans(messages)
        let found = try plain.assistantSpans(messages)
        #expect(found.text == marked.text)
        #expect(found.spans == marked.spans.map { $0.lowerBound..<($0.upperBound + 1) }, "each with the newline after it")
        // A template that changes earlier turns once more follow cannot be cut this way: refused.
        let unstable = try ChatTemplate(source: "{% for m in messages %}{{ m.content }}{% if loop.last %}!{% endif %}{% endfor %}")
        #expect(throws: ChatTemplateError.self) { try unstable.assistantSpans(messages) }
    }

    @Test func aRowIsOneConversationPaddedWithItsTargetsMasked() throws {
        let conversation = Self.conversation([("user", "upper: ab"), ("assistant", "AB")])
        let encoded = try EncodedConversation(conversation, template: .chatML, tokenizer: Self.tokenizer)
        let blockSize = encoded.tokens.count + 5
        let row = encoded.row(blockSize: blockSize, padding: 0)
        #expect(Array(row.x.prefix(encoded.tokens.count)) == encoded.tokens)
        #expect(row.x.dropFirst(encoded.tokens.count).allSatisfy { $0 == 0 })
        let kept = row.y.enumerated().filter { $0.element >= 0 }
        #expect(kept.map(\.element) == zip(encoded.tokens, encoded.trained).filter(\.1).map(\.0))
        #expect(kept.allSatisfy { encoded.trained[$0.offset + 1] })
        #expect(!encoded.isCut(blockSize: blockSize) && encoded.isCut(blockSize: 4))
    }

    @Test func theLastConversationsAreHeldOut() throws {
        let conversations = (0..<20).map { Self.conversation([("user", "upper: \(String(repeating: "a", count: $0 % 5 + 1))"), ("assistant", "A")]) }
        let dataset = try ConversationDataset(conversations, template: .chatML, tokenizer: Self.tokenizer, source: "t")
        #expect(dataset.train.count == 18 && dataset.validation.count == 2)
        #expect(dataset.validation.last == (try EncodedConversation(conversations[19], template: .chatML, tokenizer: Self.tokenizer)))
        #expect(throws: GPTError.self) { try dataset.validate(blockSize: 3) }
        try dataset.validate(blockSize: 32)
        // A digit the tokenizer lacks: the line is refused, or the digit left out when asked.
        let digits = [Conversation(messages: [ChatMessage(role: "user", content: "upper: a7"), ChatMessage(role: "assistant", content: "A")], line: 4)]
        #expect(throws: ConversationFileError.self) {
            try ConversationDataset(digits, template: .chatML, tokenizer: Self.tokenizer, source: "t")
        }
        let skipped = try ConversationDataset(digits, template: .chatML, tokenizer: Self.tokenizer, skippingUnknown: true, source: "t")
        #expect(Self.tokenizer.decode(skipped.train[0].tokens).contains("upper: a<|im_end|>"))
    }
}
