import Foundation
import LanguageModels
import Testing
import _TestSupport

/// Fine-tuning on conversations through the real `gpt`: a `.jsonl` given to `--data` with `--init-from` selects it,
/// a bad line stops it naming the line, and `gpt eval` on conversations reports the exact-match rate.
@Suite struct ConversationCommandLineTests {
    @Test func aJSONLinesFileFineTunesOnConversationsAndEvalReportsExactMatches() throws {
        let root = temporaryDirectory("chat-cli")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let corpus = root.appendingPathComponent("pangrams.txt")
        try String(repeating: "the quick brown fox jumps over the lazy dog.\n", count: 40).write(to: corpus, atomically: true, encoding: .utf8)
        let base = root.appendingPathComponent("base")
        var arguments = CommandLineTests.small(corpus.path, out: base, iterations: 2)
        arguments[arguments.firstIndex(of: "--block-size")! + 1] = "40"
        #expect(try FamilyCommandLineTests.run(arguments).status == 0)

        let chats = root.appendingPathComponent("chats.jsonl")
        let lines = ["dog", "fox", "jump", "lazy", "brown"].map {
            #"{"messages": [{"role": "user", "content": "the \#($0)"}, {"role": "assistant", "content": "\#($0)"}]}"#
        }
        try (lines.joined(separator: "\n") + "\n").write(to: chats, atomically: true, encoding: .utf8)
        let bad = root.appendingPathComponent("bad.jsonl")
        try (lines[0] + "\n" + #"{"messages": [{"role": "robot", "content": "x"}]}"# + "\n").write(to: bad, atomically: true, encoding: .utf8)

        func fineTune(_ data: URL, out: String) -> [String] {
            ["train", "--init-from", base.path, "--data", data.path, "--max-iters", "2", "--eval-interval", "1",
             "--eval-iters", "1", "--batch-size", "2", "--sample-length", "0", "--out", root.appendingPathComponent(out).path]
        }
        let refused = try FamilyCommandLineTests.run(fineTune(bad, out: "bad"))
        #expect(refused.status == 1 && refused.text.contains("bad.jsonl, line 2: message 0 has the unknown role \"robot\""),
                "\(refused.text.suffix(400))")
        let tuned = try FamilyCommandLineTests.run(fineTune(chats, out: "ft"))
        #expect(tuned.status == 0 && tuned.text.contains("4 training and 1 held-out conversations"), "\(tuned.text.suffix(400))")
        let evaluated = try FamilyCommandLineTests.run(["eval", "--checkpoint", root.appendingPathComponent("ft").path,
                                                        "--data", chats.path])
        #expect(evaluated.status == 0 && evaluated.text.contains("5 conversations") && evaluated.text.contains("exact match"),
                "\(evaluated.text.suffix(400))")
    }
}
