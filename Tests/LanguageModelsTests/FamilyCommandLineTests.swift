import Foundation
import LanguageModels
import Testing
import _TestSupport

/// The families through the real `gpt`: the training flags of their options reach `config.json`, and a folder saved by
/// transformers imports and samples.
@Suite struct FamilyCommandLineTests {
    static func run(_ arguments: [String]) throws -> (status: Int32, text: String) {
        let run = try CommandLineTests.Running(arguments)
        #expect(run.end(within: 120), "gpt \(arguments.first ?? "") did not end")
        return (run.process.terminationStatus, run.text)
    }

    @Test func trainingFlagsOfTheFamilyOptionsReachTheConfiguration() throws {
        let root = temporaryDirectory("family-cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("run")
        var arguments = CommandLineTests.small(try writeToyCorpus(in: root), out: out, iterations: 3)
        arguments += ["--heads", "2", "--position-encoding", "rope", "--norm", "rmsnorm", "--activation", "silu", "--gated-mlp",
                      "--n-inner", "12", "--head-dim", "6", "--qk-norm", "--qk-norm-gains", "--kv-heads", "1"]
        let (status, text) = try Self.run(arguments)
        #expect(status == 0, "\(text.suffix(500))")
        let configuration = try Checkpoint.load(from: out).model.configuration
        #expect(configuration.gatedFeedForward && configuration.activation == .silu && configuration.feedForwardWidth == 12)
        #expect(configuration.headSize == 6 && configuration.qkNormAffine && configuration.keyValueHeadCount == 1)
    }

    @Test func aTransformersFolderImportsAndSamples() throws {
        let root = temporaryDirectory("family-import")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = HuggingFaceFamilyTests.fixtures.appendingPathComponent("llama_sharded").path
        let imported = try Self.run(["import", folder, "--out", root.path])
        #expect(imported.status == 0 && imported.text.contains("imported"), "\(imported.text.suffix(500))")
        let sampled = try Self.run(["sample", "--checkpoint", root.path, "--prompt", "Hello", "--max-new-tokens", "4",
                                    "--temperature", "0"])
        #expect(sampled.status == 0 && sampled.text.hasPrefix("Hello"), "\(sampled.text.suffix(500))")
        let halfCache = try Self.run(["sample", "--checkpoint", root.path, "--prompt", "Hello", "--max-new-tokens", "4",
                                      "--temperature", "0", "--kv-cache", "fp16"])
        #expect(halfCache.status == 0 && halfCache.text.hasPrefix("Hello"), "\(halfCache.text.suffix(500))")
        let refused = try Self.run(["sample", "--checkpoint", root.path, "--kv-cache", "q4"])
        #expect(refused.status != 0 && refused.text.contains("--kv-cache") && refused.text.contains("'fp32' and 'fp16'"),
                "\(refused.text.suffix(300))")
        // A fine-tune of it keeps the chat template and special tokens beside every save.
        let tuned = root.appendingPathComponent("tuned")
        let trained = try Self.run(["train", "--init-from", root.path, "--data", try writeToyCorpus(in: root), "--max-iters", "2",
                                    "--eval-interval", "1", "--eval-iters", "1", "--batch-size", "2", "--block-size", "16",
                                    "--sample-length", "0", "--out", tuned.path])
        #expect(trained.status == 0, "\(trained.text.suffix(500))")
        for folder in [tuned, tuned.appendingPathComponent("latest")] {
            let template = folder.appendingPathComponent("chat_template.jinja").path
            #expect(FileManager.default.contents(atPath: template) == FileManager.default.contents(
                atPath: HuggingFaceFamilyTests.fixtures.appendingPathComponent("llama_sharded/chat_template.jinja").path), "\(folder.path)")
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer_config.json").path))
        }
    }
}
