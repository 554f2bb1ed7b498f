import Foundation
import LanguageModels
import Testing
import _TestSupport

/// ``ChatFormat`` and ``ChatSession`` on the tiny GPT-2 chat model (``chatFixtureCheckpoint(template:)``): the
/// prompt's tokens are transformers' for the same text, greedy answers end at `<|im_end|>`, the history grows and
/// resets, a full context drops the oldest turns or refuses, a checkpoint without a template is named.
@Suite struct ChatSessionTests {
    static let system = "You are a poet.", question = "To be, or not to be?"

    static func session(system: String? = Self.system) throws -> ChatSession {
        let checkpoint = try chatFixtureCheckpoint()
        let format = try ChatFormat(checkpoint: checkpoint, folder: chatFixtureFolder.path)
        return ChatSession(generator: TextGenerator(model: checkpoint.model, tokenizer: checkpoint.tokenizer),
                           format: format, system: system)
    }

    static var greedy: SamplingOptions {
        var options = SamplingOptions()
        (options.temperature, options.maxNewTokens) = (0, 40)
        return options
    }

    @Test func promptTokensAreTheTokenizersEncodingOfTheTemplatesText() throws {
        let expected = try HuggingFaceChatTests.expected()
        let session = try Self.session()
        session.append([ChatMessage(role: "user", content: Self.question)])
        let prompt = try session.format.prompt(session.messages)
        #expect(prompt.text == expected.prompt, "ChatML with the generation prompt, as the fixture's script wrote it")
        #expect(prompt.tokens == expected.promptIDs, "transformers' ids for that text")
        #expect(prompt.tokens == (try session.format.tokenizer.encode(prompt.text)))
    }

    @Test func endOfTurnComesFromTheTokenizerConfigAndTheKnownTokens() throws {
        let expected = try HuggingFaceChatTests.expected()
        let format = try Self.session().format
        #expect(format.eosToken == "<|im_end|>")
        #expect(format.endOfTurnTokens == [expected.imEnd, expected.imStart], "<|im_end|>, and <|im_start|> opening another turn")
        #expect(format.endOfTurnTexts.isEmpty)
        // A template whose end of turn the tokenizer does not hold as a token stops on the text.
        let gemma = try ChatTemplate(source: "{% for m in messages %}<start_of_turn>{{ m.content }}<end_of_turn>{% endfor %}")
        let split = ChatFormat(template: gemma, tokenizer: format.tokenizer)
        #expect(split.endOfTurnTokens == [expected.imEnd, expected.imStart])
        #expect(split.endOfTurnTexts == ["<end_of_turn>", "<start_of_turn>"])
        #expect(split.options(SamplingOptions()).stop == ["<end_of_turn>", "<start_of_turn>"])
    }

    @Test func greedyAnswerStopsAtEndOfTurnAndHistoryGrows() throws {
        let session = try Self.session()
        var streamed: [String] = []
        let reply = try session.send(Self.question, options: Self.greedy) { streamed.append($0.text); return true }
        #expect(reply.text == "That is the question.")
        #expect(streamed.joined() == reply.text && streamed.count > 1, "streamed piece by piece")
        #expect(reply.finishReason == .stop && !reply.contextFull && reply.droppedMessages == 0)
        #expect(reply.completionTokens == 11, "transformers' greedy ids before <|im_end|>")
        #expect(session.history == [ChatMessage(role: "user", content: Self.question),
                                    ChatMessage(role: "assistant", content: "That is the question.")])
        #expect(session.messages.first == ChatMessage(role: "system", content: Self.system))
        let second = try session.send(Self.question, options: Self.greedy)
        #expect(session.history.count == 4 - second.droppedMessages && session.history.last?.content == second.text)
        session.reset()
        #expect(session.history.isEmpty && session.messages.count == 1)
    }

    @Test func maxNewTokensEndsWithLength() throws {
        var options = Self.greedy
        options.maxNewTokens = 3
        let reply = try Self.session().send(Self.question, options: options)
        #expect(reply.finishReason == .length && reply.completionTokens == 3 && !reply.contextFull)
    }

    @Test func aFullContextDropsTheOldestTurnsThenRefuses() throws {
        let session = try Self.session()  // a block of 96 tokens; 41 for the first question with the system message
        for _ in 0..<2 { _ = try session.send(Self.question, options: Self.greedy) }
        let before = session.history.count
        let reply = try session.send(Self.question, options: Self.greedy)
        #expect(reply.droppedMessages > 0 && reply.droppedMessages % 2 == 0, "whole turns leave")
        #expect(session.history.count == before + 2 - reply.droppedMessages)
        #expect(session.history.first?.role == "user")
        #expect(reply.promptTokens + session.replyReserve(for: Self.greedy) <= 96)

        let long = String(repeating: "to be ", count: 60)
        #expect(throws: ChatError.self) { try session.send(long, options: Self.greedy) }
        #expect(session.history.count == before + 2 - reply.droppedMessages, "a refused message is taken back")
    }

    @Test func theAnswerEndsAtTheBlockSize() throws {
        var options = Self.greedy
        options.maxNewTokens = 1000  // more than the block leaves: the answer stops at the block's end
        let session = try Self.session()
        session.append([ChatMessage(role: "user", content: "to be " + String(repeating: "or not ", count: 12))])
        var choices: [Int] = []
        let reply = try session.reply(options: options) { piece in choices += piece.tokens.map(\.token); return true }
        #expect(reply.promptTokens + reply.completionTokens <= 96)
        if reply.finishReason == .length { #expect(reply.contextFull) }
    }

    @Test func aCheckpointWithoutTemplateIsRefusedNamingTheFix() throws {
        let checkpoint = try chatFixtureCheckpoint(template: false)
        #expect(throws: ChatError.noTemplate(folder: "runs/x")) { try ChatFormat(checkpoint: checkpoint, folder: "runs/x") }
        let message = ChatError.noTemplate(folder: "runs/x").description
        #expect(message.contains("chat_template.jinja") && message.contains("--data chats.jsonl"))
    }

    @Test func badConversationsAreTypedErrors() throws {
        let format = try Self.session().format
        #expect(throws: ChatError.emptyConversation) { try format.prompt([]) }
        #expect(throws: ChatError.unknownRole("wizard")) { try format.prompt([ChatMessage(role: "wizard", content: "hi")]) }
    }

    @Test func generationConfigEndOfTurnIDsAreRead() throws {
        var checkpoint = try chatFixtureCheckpoint()
        checkpoint.companionFiles["generation_config.json"] = Data(#"{"eos_token_id": [5, 7, 99999]}"#.utf8)
        checkpoint.companionFiles["tokenizer_config.json"] = Data(#"{"eos_token": {"content": "<|im_end|>"}, "bos_token": "<|im_start|>"}"#.utf8)
        let format = try ChatFormat(checkpoint: checkpoint, folder: "x")
        #expect(format.endOfTurnTokens == [5, 7, 400, 401], "ids outside the vocabulary are left out")
        #expect(format.eosToken == "<|im_end|>" && format.bosToken == "<|im_start|>")
    }
}
