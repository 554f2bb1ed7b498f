import Foundation
import LanguageModels
import Testing
import _TestSupport

/// The `ChatTemplate` API: messages in, the prompt out; ChatML; generation ranges; templates in checkpoint folders.
@Suite struct ChatTemplateTests {
    let conversation = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"),
                        ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "Bye")]

    /// ChatML as Hugging Face's default template writes it (the format is fixed: the expected text is spelled out).
    @Test func chatMLRendersTheStandardFormat() throws {
        let text = try ChatTemplate.chatML.render(messages: conversation, addGenerationPrompt: true)
        #expect(text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n")
        let closed = try ChatTemplate.chatML.render(messages: conversation)
        #expect(closed + "<|im_start|>assistant\n" == text)
    }

    /// ChatML equals jinja2's rendering of the same template in the fixture suite.
    @Test func chatMLMatchesTheJinja2Fixtures() throws {
        let cases = try ChatTemplateFixtureTests.cases().filter { $0.name.hasPrefix("chatml_generation/") }
        #expect(cases.count == 8)
        for fixture in cases {
            let rendering = try ChatTemplate.chatML.render(context: fixture.context)
            #expect(rendering.text == fixture.expected, "\(fixture.name)")
        }
    }

    @Test func generationRangesCoverTheAssistantTurns() throws {
        let rendering = try ChatTemplate.chatML.render(messages: conversation.map(\.value))
        let bytes = Array(rendering.text.utf8)
        let marked = rendering.generationRanges.map { String(decoding: bytes[$0], as: UTF8.self) }
        #expect(marked == ["Hello!<|im_end|>"])
    }

    @Test func variablesReachTheTemplate() throws {
        let template = try ChatTemplate(source: "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}"
            + "{{ eos_token }}{% endfor %}{{ tools | length }}{{ today }}{{ add_generation_prompt }}")
        let text = try template.render(messages: [ChatMessage(role: "user", content: "é")], addGenerationPrompt: true,
                                       bosToken: "<s>", eosToken: "</s>", tools: [["name": "f"]],
                                       extra: ["today": "Friday"])
        #expect(text == "<s>user:é</s>1FridayTrue")
    }

    @Test func jsonValuesKeepTheirKeyOrder() throws {
        let value = try JinjaValue(json: Data(#"{"z": 1, "a": [true, null, 2.5, "x"], "m": {"k": -3}}"#.utf8))
        let template = try ChatTemplate(source: "{{ v | tojson }}|{% for k in v %}{{ k }}{% endfor %}")
        let text = try template.render(context: ["v": value]).text
        #expect(text == #"{"z": 1, "a": [true, null, 2.5, "x"], "m": {"k": -3}}|zam"#)
        #expect(throws: ChatTemplateError.self) { try JinjaValue(json: Data("{oops".utf8)) }
    }

    // MARK: - Checkpoint folders

    func folder(_ files: [String: String]) throws -> URL {
        let directory = temporaryDirectory("chat-template")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return directory
    }

    @Test func checkpointTemplatesAreFound() throws {
        let jinja = try folder(["chat_template.jinja": "A{{ 1 }}", "tokenizer_config.json": #"{"chat_template": "B"}"#])
        let config = try folder(["tokenizer_config.json": #"{"bos_token": "<s>", "chat_template": "B{{ 2 }}"}"#])
        let named = try folder(["tokenizer_config.json":
            #"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#])
        let none = try folder(["tokenizer_config.json": #"{"bos_token": "<s>"}"#])
        let noDefault = try folder(["tokenizer_config.json": #"{"chat_template": [{"name": "rag", "template": "R"}]}"#])
        defer { for url in [jinja, config, named, none, noDefault] { try? FileManager.default.removeItem(at: url) } }
        #expect(try ChatTemplate.source(inCheckpoint: jinja) == "A{{ 1 }}")
        #expect(try ChatTemplate(checkpoint: config)?.render(context: [:]).text == "B2")
        #expect(try ChatTemplate.source(inCheckpoint: named) == "D")
        #expect(try ChatTemplate.source(inCheckpoint: none) == nil)
        #expect(throws: ChatTemplateError.self) { try ChatTemplate.source(inCheckpoint: noDefault) }
    }

    @Test func aSavedTemplateReadsBack() throws {
        let directory = try folder(["tokenizer_config.json": #"{"chat_template": "old"}"#])
        defer { try? FileManager.default.removeItem(at: directory) }
        try ChatTemplate.chatML.save(inCheckpoint: directory)
        #expect(try ChatTemplate.source(inCheckpoint: directory) == ChatTemplate.chatMLSource)
        let missing = directory.appendingPathComponent("no/such/folder")
        #expect(throws: ChatTemplateError.self) { try ChatTemplate.chatML.save(inCheckpoint: missing) }
    }
}
