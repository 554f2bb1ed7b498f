import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sample", abstract: "Generate text from a saved model.")

    @Option(help: "A directory written by `gpt train`.") var checkpoint: String
    @Option(help: "Text to continue (default: start from a newline, as the lecture).") var prompt: String?
    @Option var maxNewTokens = 500
    @Option var seed: UInt64 = 1337

    func run() throws {
        try reportingErrors {
            guard maxNewTokens > 0 else {
                throw GPTError.invalidArgument(name: "--max-new-tokens", reason: "must be positive, got \(maxNewTokens)")
            }
            let loaded = try Checkpoint.load(from: URL(fileURLWithPath: checkpoint))
            let promptTokens = try prompt.map { try loaded.tokenizer.encode($0) } ?? []
            let start = promptTokens.isEmpty ? [0] : promptTokens
            var generator = SeededGenerator(seed: seed)
            let tokens = loaded.model.generate(start, maxNewTokens: maxNewTokens, generator: &generator)
            let shown = promptTokens.isEmpty ? Array(tokens.dropFirst()) : tokens
            print(loaded.tokenizer.decode(shown))
        }
    }
}

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the matrix backend, the core count and a measured GEMM speed.")

    @Option(help: "Side of the square matrices multiplied.") var size = 512

    func run() throws {
        let backend = MatrixBackend.current
        print("matrix backend: \(backend)")
        print("cores: \(kernelThreadCount)")
        if let coreType = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] { print("OPENBLAS_CORETYPE: \(coreType)") }
        print(String(format: "GEMM %dx%dx%d: %.1f GFLOP/s (%@)", size, size, size, measureGEMMGigaflops(size: size),
                     backend.description))
        if backend != .portable {
            print(String(format: "GEMM %dx%dx%d: %.1f GFLOP/s (portable Swift SIMD kernel)", size, size, size,
                         measureGEMMGigaflops(size: size, portable: true)))
        }
    }
}
