import Foundation
import LanguageModels
import Testing
import _TestSupport

/// `gpt chat` through the real executable on the tiny chat model: `--render` prints the template's prompt, a pipe
/// of lines chats (with `/reset` and `/exit`), `--messages` answers once, and a checkpoint without a template is
/// refused naming the fix.
@Suite struct ChatCommandLineTests {
    /// Runs `gpt` with `input` on its standard input; returns its status, standard output and standard error.
    static func run(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = gptExecutable
        process.arguments = arguments
        let (stdin, stdout, stderr) = (Pipe(), Pipe(), Pipe())
        (process.standardInput, process.standardOutput, process.standardError) = (stdin, stdout, stderr)
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let error = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }

    /// The chat model saved as a checkpoint folder (with ChatML unless `template` is false).
    static func checkpoint(template: Bool = true) throws -> URL {
        let folder = temporaryDirectory("chat-cli")
        try chatFixtureCheckpoint(template: template).save(to: folder)
        return folder
    }

    @Test func renderPrintsExactlyTheTemplatesPrompt() throws {
        let folder = try Self.checkpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        let conversation = folder.appendingPathComponent("conversation.json")
        try Data(#"{"messages": [{"role": "system", "content": "You are a poet."}, {"role": "user", "content": "To be, or not to be?"}]}"#.utf8)
            .write(to: conversation)
        let rendered = try Self.run(["chat", "--checkpoint", folder.path, "--messages", conversation.path, "--render"])
        #expect(rendered.status == 0, "\(rendered.error)")
        #expect(rendered.output == (try HuggingFaceChatTests.expected()).prompt, "transformers' ChatML text")
        let answered = try Self.run(["chat", "--checkpoint", folder.path, "--messages", conversation.path, "--temperature", "0"])
        #expect(answered.status == 0 && answered.output == "That is the question.\n", "\(answered.error)")
    }

    @Test func aPipeOfLinesChats() throws {
        let folder = try Self.checkpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        let question = "To be, or not to be?"
        let run = try Self.run(["chat", "--checkpoint", folder.path, "--system", "You are a poet.", "--temperature", "0"],
                               input: "\(question)\n\n/reset\n\(question)\n/exit\n\(question)\n")
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output == "That is the question.\nThat is the question.\n", "two answers, none after /exit")
        #expect(run.error.contains("reset"))
    }

    @Test func aCheckpointWithoutTemplateIsRefused() throws {
        let folder = try Self.checkpoint(template: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Self.run(["chat", "--checkpoint", folder.path], input: "hi\n")
        #expect(run.status == 1)
        #expect(run.error.contains("has no chat template") && run.error.contains("chat_template.jinja"))
    }
}
