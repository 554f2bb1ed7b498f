import Foundation
import LanguageModels
import Testing
#if canImport(Glibc)
import Glibc
import _TestSupport
#endif

/// `kill -9` of a real `gpt train` process between two saves, then `gpt train --resume`: the step losses of the
/// resumed run must equal those of an uninterrupted run, bit for bit.
@Suite struct KillTests {
    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = gptExecutable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func stepLosses(_ directory: URL) -> [Int: Float] {
        var losses: [Int: Float] = [:]
        for entry in TrainingLog.entries(in: directory) { if let loss = entry.loss { losses[entry.step] = loss } }
        return losses
    }

    @Test func resumeAfterKillNineRepeatsTheLosses() throws {
        #expect(FileManager.default.fileExists(atPath: gptExecutable.path), "build the gpt executable first (swift build)")
        let root = temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(at: root) }
        let corpus = try writeToyCorpus(in: root)
        func arguments(_ out: String) -> [String] {
            ["train", "--preset", "tiny", "--data", corpus, "--max-iters", "400", "--eval-interval", "10",
             "--eval-iters", "1", "--batch-size", "2", "--block-size", "8", "--layers", "1", "--heads", "1",
             "--embedding-size", "8", "--sample-length", "0", "--out", root.appendingPathComponent(out).path]
        }
        let whole = try Self.start(arguments("whole"))
        whole.waitUntilExit()
        #expect(whole.terminationStatus == 0)

        let killed = try Self.start(arguments("killed"))
        let state = root.appendingPathComponent("killed/latest/trainer.json")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: state.path),
               let saved = try? JSONDecoder().decode(TrainingState.self, from: data), saved.step >= 30 { break }
            usleep(2_000)
        }
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(killed.terminationReason == .uncaughtSignal, "the run ended before it could be killed")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("killed/model.safetensors").path))

        let resumed = try Self.start(["train", "--resume", root.appendingPathComponent("killed").path, "--sample-length", "0"])
        resumed.waitUntilExit()
        #expect(resumed.terminationStatus == 0)
        let expected = Self.stepLosses(root.appendingPathComponent("whole"))
        let actual = Self.stepLosses(root.appendingPathComponent("killed"))
        #expect(expected.count == 400)
        #expect(actual == expected)
    }
}
