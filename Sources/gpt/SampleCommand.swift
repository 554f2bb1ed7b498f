import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Generate text from a saved model, printed as it is generated.")

    @Option(help: "A directory written by `gpt train`.") var checkpoint: String
    @Option(help: "Text to continue (default: start from a newline, as the lecture).") var prompt = ""
    @Option(parsing: .unconditional, help: "Tokens to generate.") var maxNewTokens = 500
    @Option(parsing: .unconditional, help: "Softness of the sampling; 0 always picks the most likely token.")
    var temperature: Float = 1
    @Option(parsing: .unconditional, help: "Sample only among the K most likely tokens (default: all).") var topK: Int?
    @Option(parsing: .unconditional, help: "Sample only among the most likely tokens whose probabilities sum to P.")
    var topP: Float = 1
    @Option(parsing: .unconditional, help: "Penalise tokens already in the context (1 = off).")
    var repetitionPenalty: Float = 1
    @Option(parsing: .unconditionalSingleValue, help: "Stop before this text (repeatable).") var stop: [String] = []
    @Option(parsing: .unconditional, help: "Independent samples to draw.") var samples = 1
    @Option(parsing: .unconditional, help: "Print each token's log-probability and the N most likely alternatives.")
    var logprobs = 0
    @Option(parsing: .unconditional, help: "Seed of the sampling: the same seed gives the same text.")
    var seed: UInt64 = 1337
    @Option(help: "Matrix products in fp32 (exact) or bf16 (bfloat16 weights: half the memory traffic per token; logits rounded).")
    var precision = MatrixPrecision.float32

    func run() throws {
        try reportingErrors {
            var options = SamplingOptions()
            options.maxNewTokens = maxNewTokens
            options.temperature = temperature
            options.topK = topK
            options.topP = topP
            options.repetitionPenalty = repetitionPenalty
            options.stop = stop
            options.samples = samples
            options.logprobs = logprobs
            options.seed = seed
            options.precision = precision
            try options.validate()
            let generator = try TextGenerator(checkpoint: URL(fileURLWithPath: checkpoint))
            let tokens = try generator.promptTokens(prompt)
            for sample in 0..<samples {
                if samples > 1 { emit("--- sample \(sample + 1) ---\n") }
                emit(prompt)
                var choices: [TokenChoice] = []
                try generator.generate(prompt: tokens, options: options, sample: sample) { piece in
                    emit(piece.text)
                    choices += piece.tokens
                    return true
                }
                emit("\n")
                if logprobs > 0 { printLogprobs(choices, tokenizer: generator.tokenizer) }
            }
        }
    }

    func printLogprobs(_ choices: [TokenChoice], tokenizer: Tokenizer) {
        emit("token      logprob  alternatives\n")
        for choice in choices {
            let shown = { (token: Int) in tokenizer.decode([token]).debugDescription }
            let alternatives = choice.alternatives.map { "\(shown($0.token)) \(String(format: "%.3f", $0.logprob))" }
            emit(shown(choice.token).padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%8.3f  ", choice.logprob) + alternatives.joined(separator: ", ") + "\n")
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
        print("vector instructions: \(VectorInstructions.widest) (products up to 2^27 multiply-adds, all without a BLAS, "
              + "decoding, softmax, layer norm, AdamW)")
        print("bfloat16 units: \(BFloat16Units.machine)")
        let bfloat16 = KernelSettings.current.bfloat16Kernel
        print("bfloat16 products (--precision bf16): " + (bfloat16.map(\.description)
            ?? "none here, fp32 instead (GPT_BF16_KERNEL=avx2 runs bf16 numerics on AVX2, no faster)"))
        if let coreType = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] { print("OPENBLAS_CORETYPE: \(coreType)") }
        print(String(format: "GEMM %dx%dx%d: %.1f GFLOP/s (%@)", size, size, size, measureGEMMGigaflops(size: size),
                     backend.description))
        if backend != .cKernel {
            print(String(format: "GEMM %dx%dx%d: %.1f GFLOP/s (%@)", size, size, size,
                         measureGEMMGigaflops(size: size, cKernel: true), MatrixBackend.cKernel.description))
        }
        // Every bfloat16 kernel this CPU runs natively (not the written-out test copies), operands rounded per call.
        for kernel in [BFloat16Kernel.amx, .avx512BF16, .avx2] {
            guard let speed = measureBFloat16Gigaflops(kernel, size: size) else { continue }
            print(String(format: "bf16 GEMM %dx%dx%d: %.1f GFLOP/s (%@%@)", size, size, size, speed, kernel.description,
                         kernel == bfloat16 ? ", in use" : ""))
        }
    }
}
