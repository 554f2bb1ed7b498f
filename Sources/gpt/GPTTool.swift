import ArgumentParser
import Foundation
import CKernels
import LanguageModels

@main
struct GPTTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt",
        abstract: "Train a language model on any text and generate new text, on the CPU.",
        subcommands: [
            TrainCommand.self, SampleCommand.self, ServeCommand.self, EvalCommand.self, PrepareCommand.self, InspectCommand.self,
            DemoCommand.self, ImportCommand.self, ExportCommand.self, InfoCommand.self, BenchCommand.self, TokenizeCommand.self,
            ChatCommand.self,
        ],
        defaultSubcommand: nil)

    /// Line-buffers standard output first: a result line reaches a pipe, a log file or `nohup.out` as it is
    /// printed, not when the process exits (and a killed run's log keeps every line printed before the kill).
    static func main() async {
        gpt_line_buffer_standard_output()
        await Self.main(nil)
    }
}

/// Runs `body`, turning a ``GPTError``, ``ChatError`` or ``ChatTemplateError`` into one line on standard error and
/// exit code 1 (no stack dump).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as GPTError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode.failure
    } catch let error as ChatError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode.failure
    } catch let error as ChatTemplateError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode.failure
    }
}

/// Writes to standard output at once (unbuffered), for streamed text; flushes `print`'s buffer first.
func emit(_ text: String) {
    fflushStandardOutput()
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Flushes what `print` has buffered, so unbuffered writes that follow appear after it.
func fflushStandardOutput() { fflush(nil) }

/// Prints to standard error.
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}

/// Formats seconds as `1h02m`, `3m05s` or `12s`.
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let total = Int(seconds.rounded())
    if total >= 3600 { return "\(total / 3600)h" + String(format: "%02dm", (total % 3600) / 60) }
    if total >= 60 { return "\(total / 60)m" + String(format: "%02ds", total % 60) }
    return "\(total)s"
}
