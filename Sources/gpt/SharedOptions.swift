import ArgumentParser
import Foundation
import LanguageModels

/// The saved model a command reads (`--checkpoint`).
struct CheckpointOptions: ParsableArguments {
    @Option(help: "A directory written by `gpt train` or `gpt import`.") var checkpoint: String

    var url: URL { URL(fileURLWithPath: checkpoint) }
    func load() throws -> Checkpoint { try Checkpoint.load(from: url) }
}

/// How tokens are drawn (`gpt sample`; the same fields as the HTTP API's).
struct SamplingArguments: ParsableArguments {
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
    @Option(help: "Matrix products in fp32 (exact), bf16 (bfloat16 weights: half the memory traffic per token; logits rounded) or q8 (8-bit weights in Q8_0 blocks: about half the bytes of bf16; activations quantised per block).")
    var precision = MatrixPrecision.float32
    @Option(help: KVCachePrecision.help)
    var kvCache = KVCachePrecision.float32

    /// The options, validated.
    func options() throws -> SamplingOptions {
        var options = SamplingOptions()
        (options.maxNewTokens, options.temperature, options.topK, options.topP) = (maxNewTokens, temperature, topK, topP)
        (options.repetitionPenalty, options.stop, options.samples) = (repetitionPenalty, stop, samples)
        (options.logprobs, options.seed, options.precision, options.kvCache) = (logprobs, seed, precision, kvCache)
        try options.validate()
        return options
    }
}
