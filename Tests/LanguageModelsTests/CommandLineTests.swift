import Foundation
import LanguageModels
import Testing
#if canImport(Glibc)
import Glibc
import _TestSupport
#endif

/// The real `gpt` executable as a user meets it: output through a pipe as it happens, Ctrl-C during an evaluation,
/// and a run directory that is never overwritten by accident.
@Suite struct CommandLineTests {
    /// A process whose standard output and error are read as they come.
    final class Running: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var output = Data()

        init(_ arguments: [String]) throws {
            process.executableURL = gptExecutable
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                self?.lock.withLock { self?.output.append(data) }
            }
            try process.run()
        }

        var text: String { lock.withLock { String(decoding: output, as: UTF8.self) } }

        /// Waits until the output contains `needle` (true), or `seconds` pass or the process ends (false).
        func wait(for needle: String, seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if text.contains(needle) { return true }
                if !process.isRunning { return text.contains(needle) }
                usleep(5_000)
            }
            return false
        }

        /// Waits for the process to end, at most `seconds`; false if it is still running.
        func end(within seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(5_000) }
            if process.isRunning { return false }
            process.waitUntilExit()
            usleep(50_000)  // the last bytes through the pipe
            return true
        }
    }

    static func small(_ corpus: String, out: URL, iterations: Int = 100_000, evalIterations: Int = 1) -> [String] {
        ["train", "--preset", "tiny", "--data", corpus, "--max-iters", "\(iterations)", "--eval-interval", "10",
         "--eval-iters", "\(evalIterations)", "--batch-size", "2", "--block-size", "8", "--layers", "1", "--heads", "1",
         "--embedding-size", "8", "--sample-length", "0", "--out", out.path]
    }

    @Test func stepLinesReachAPipeAsTheyHappenAndSurviveAKill() throws {
        let root = temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try Running(Self.small(try writeToyCorpus(in: root), out: root.appendingPathComponent("run")))
        // A run of 100,000 steps is far from its end when its first evaluations are printed.
        #expect(run.wait(for: "step 30:", seconds: 60), "no step line through the pipe: \(run.text.suffix(300))")
        #expect(run.process.isRunning)
        kill(run.process.processIdentifier, SIGKILL)
        #expect(run.end(within: 10))
        // Every evaluation the log recorded was printed before the kill, and none was lost with the process.
        let evaluated = TrainingLog.entries(in: root.appendingPathComponent("run")).filter { $0.validationLoss != nil }
        #expect(evaluated.count >= 3)
        for entry in evaluated { #expect(run.text.contains("step \(entry.step): train loss"), "step \(entry.step)") }
    }

    @Test func ctrlCDuringAnEvaluationStopsAtOnceSavesAndExits130() throws {
        let root = temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("run")
        // 100,000 evaluation batches: the first evaluation alone would run for minutes.
        let run = try Running(Self.small(try writeToyCorpus(in: root), out: out, evalIterations: 100_000))
        #expect(run.wait(for: "steps of 2 x 8 tokens", seconds: 60))
        usleep(300_000)
        kill(run.process.processIdentifier, SIGINT)
        #expect(run.end(within: 10), "still running 10 s after Ctrl-C")
        #expect(run.process.terminationStatus == 130)
        #expect(run.text.contains("continue with: gpt train --resume"))
        let state = try TrainingState.read(from: out.appendingPathComponent("latest"))
        #expect(state.step == 0 && state.evaluatedStep == -1)  // the abandoned evaluation is done again on resume
    }

    @Test func aSecondCtrlCQuitsAtOnce() throws {
        let root = temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try Running(Self.small(try writeToyCorpus(in: root), out: root.appendingPathComponent("run"),
                                         evalIterations: 100_000))
        #expect(run.wait(for: "steps of 2 x 8 tokens", seconds: 60))
        kill(run.process.processIdentifier, SIGINT)
        #expect(run.wait(for: "interrupted:", seconds: 30))  // generous: a loaded machine delays the handler's thread
        kill(run.process.processIdentifier, SIGINT)
        #expect(run.end(within: 10))
        #expect(run.process.terminationReason == .exit && run.process.terminationStatus == 130)
        #expect(!run.text.contains("failed to suspend"))
    }

    @Test func trainingIntoAnExistingRunIsRefusedWithoutOverwrite() throws {
        let root = temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let corpus = try writeToyCorpus(in: root), out = root.appendingPathComponent("run")
        let first = try Running(Self.small(corpus, out: out, iterations: 20))
        #expect(first.end(within: 120) && first.process.terminationStatus == 0, "\(first.text.suffix(300))")
        let model = try Data(contentsOf: out.appendingPathComponent("model.safetensors"))

        let refused = try Running(Self.small(corpus, out: out, iterations: 20) + ["--seed", "7"])
        #expect(refused.end(within: 60) && refused.process.terminationStatus == 1)
        #expect(refused.text.contains("--resume") && refused.text.contains("--overwrite"), "\(refused.text.suffix(300))")
        #expect(try Data(contentsOf: out.appendingPathComponent("model.safetensors")) == model)

        let replaced = try Running(Self.small(corpus, out: out, iterations: 20) + ["--seed", "7", "--overwrite"])
        #expect(replaced.end(within: 120) && replaced.process.terminationStatus == 0)
        #expect(try Data(contentsOf: out.appendingPathComponent("model.safetensors")) != model)
    }

    /// `--precision`: an unknown value refused naming the flag, q8 (inference only) refused by training; a bf16 run says which products it runs (fp32 with a
    /// notice where the CPU has no bfloat16 kernel), saves bf16 with the run and keeps it on a resume.
    @Test func precisionIsCheckedAnnouncedAndSavedWithTheRun() throws {
        let root = temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let corpus = try writeToyCorpus(in: root), out = root.appendingPathComponent("run")
        let refused = try Running(Self.small(corpus, out: out, iterations: 20) + ["--precision", "fp16"])
        #expect(refused.end(within: 60) && refused.process.terminationStatus == 64)  // a usage error, as for any flag
        #expect(refused.text.contains("--precision") && refused.text.contains("'fp32', 'bf16'"), "\(refused.text.suffix(300))")
        let eightBit = try Running(Self.small(corpus, out: out, iterations: 20) + ["--precision", "q8"])
        #expect(eightBit.end(within: 60) && eightBit.process.terminationStatus != 0)
        #expect(eightBit.text.contains("--precision") && eightBit.text.contains("train in fp32 or bf16"),
                "\(eightBit.text.suffix(300))")

        let run = try Running(Self.small(corpus, out: out, iterations: 20) + ["--precision", "bf16"])
        #expect(run.end(within: 120) && run.process.terminationStatus == 0, "\(run.text.suffix(300))")
        #expect(run.text.contains("precision bf16: "), "\(run.text.prefix(600))")
        let state = try String(contentsOf: out.appendingPathComponent("latest/trainer.json"), encoding: .utf8)
        #expect(state.contains("\"precision\" : \"bf16\""))
        let resumed = try Running(["train", "--resume", out.path, "--precision", "fp32"])
        #expect(resumed.end(within: 60) && resumed.process.terminationStatus == 1)
        #expect(resumed.text.contains("--precision") && resumed.text.contains("keeps"), "\(resumed.text.suffix(300))")
    }

    @Test func initFromFineTunesASavedModelOnANewCorpus() throws {
        let root = temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = root.appendingPathComponent("base"), tuned = root.appendingPathComponent("tuned")
        let first = try Running(Self.small(try writeToyCorpus(in: root), out: base, iterations: 30))
        #expect(first.end(within: 120) && first.process.terminationStatus == 0, "\(first.text.suffix(300))")
        let other = root.appendingPathComponent("other.txt")
        try String(repeating: "cats are pets. dogs love cats.\n", count: 120).write(to: other, atomically: true, encoding: .utf8)
        func fineTune(_ corpus: String, out: URL, iterations: Int) -> [String] {
            ["train", "--init-from", base.path, "--data", corpus, "--max-iters", "\(iterations)", "--eval-interval", "10",
             "--eval-iters", "4", "--batch-size", "2", "--sample-length", "0", "--learning-rate", "3e-3", "--out", out.path]
        }
        let arguments = fineTune(other.path, out: tuned, iterations: 60)
        let run = try Running(arguments)
        #expect(run.end(within: 120) && run.process.terminationStatus == 0, "\(run.text.suffix(300))")
        #expect(run.text.contains("fine-tuning the model of"))
        let losses = TrainingLog.entries(in: tuned).compactMap(\.validationLoss)
        #expect(losses.count >= 3 && losses.last! < losses.first!, "\(losses)")
        // A character the model's tokenizer lacks: one line naming it, exit 1.
        let unknown = root.appendingPathComponent("unknown.txt")
        try String(repeating: "zebras are pets.\n", count: 120).write(to: unknown, atomically: true, encoding: .utf8)
        let refused = try Running(fineTune(unknown.path, out: root.appendingPathComponent("z"), iterations: 5))
        #expect(refused.end(within: 60) && refused.process.terminationStatus == 1)
        #expect(refused.text.contains("\"z\""), "\(refused.text.suffix(300))")
    }
}
