import ArgumentParser
import Foundation
import LanguageModels
import NN
import TensorModule
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training steps (and KV-cached sampling) of the GPT presets.",
        discussion: """
            Times what Scripts/torch_reference.py times in PyTorch (the same presets, batches and optimizer, each \
            GPT in the lecture's layout as torch_reference.py builds it, so baby's nanoGPT layout is timed as the \
            lecture's), so Scripts/bench-vs-pytorch.sh can put the two side by side.
            """)

    @Option(help: "Comma-separated presets.") var presets = "tiny,baby"
    @Option(help: "Timed training steps per preset.") var steps = 20
    @Option(help: "Untimed steps first.") var warmup = 3
    @Flag(help: "Also time KV-cached sampling of --sample-tokens tokens from an untrained model of each preset.")
    var sample = false
    @Option(help: "Tokens generated per sampling measurement.") var sampleTokens = 200
    @Option(help: "Precisions to time training steps and sampling in (comma-separated: fp32, bf16, q8; bf16 trains in fp32 where the CPU has no bfloat16 kernel, and says so; q8 times sampling only).")
    var precision = PrecisionList<MatrixPrecision>([.float32])

    @Flag(help: "Time inference alone on a GPT-2 124M-shaped model with random weights (50,257 tokens, 12 layers of 768): prefill of --prompt-tokens and KV-cached decoding of --sample-tokens, in each precision, alternating for --rounds, medians.")
    var inference = false
    @Option(help: "Prompt tokens prefilled per inference measurement.") var promptTokens = 500
    @Option(help: "Alternating rounds of the inference measurements.") var rounds = 3
    @Option(help: "With --inference: time this checkpoint (an imported model, say) instead of the random GPT-2 shape.")
    var checkpoint: String?
    @Option(help: "With --inference: also time decoding of this many sequences advancing together in one batch (comma-separated, e.g. 1,8): aggregate tokens/s of --sample-tokens each, without a server.")
    var batch: String?
    @Option(help: "With --batch: the KV caches' precisions to time, alternating (comma-separated: fp32, fp16).")
    var kvCache = PrecisionList<KVCachePrecision>([.float32])

    func run() throws {
        if inference { return try reportingErrors { try timeInference() } }
        try reportingErrors {
            let text = try readCorpus(at: try bundledCorpusPath())
            let tokenizer = CharacterTokenizer(training: text)
            let dataset = TextDataset(tokens: try tokenizer.encode(text))
            let ceiling = measureGEMMGigaflops(size: 1024, repetitions: 4)
            print(String(format: "backend: %@, cores: %d, GEMM ceiling (1024^3, measured now): %.1f GFLOP/s",
                         MatrixBackend.current.description, kernelThreadCount, ceiling))
            for name in presets.split(separator: ",").map(String.init) {
                let preset = try TrainingPreset.named(name)
                guard preset.name != "bigram" else { continue }
                /// The preset's model from the same initial weights each time (for each precision and the sampling).
                func freshModel() throws -> any LanguageModel {
                    var generator = SeededGenerator(seed: 1337)
                    var configuration = preset.model(tokenizer.vocabularySize)
                    // torch_reference.py builds the lecture's layout at each preset's shape: time that same model.
                    if preset.layout == .nanoGPT { ModelLayout.lecture.apply(to: &configuration) }
                    return try makeModel(configuration, generator: &generator)
                }
                for precision in precision.values where steps > 0 && precision.isTrainable {
                    try timeTraining(name, preset: preset, model: try freshModel(), dataset: dataset, ceiling: ceiling,
                                     precision: precision)
                }
                if sample, let gpt = try freshModel() as? GPTLanguageModel {
                    for precision in precision.values {
                        timeSampling(name, model: gpt, tokenizer: tokenizer, precision: precision)
                    }
                }
            }
        }
    }

    func timeTraining(_ name: String, preset: TrainingPreset, model: any LanguageModel, dataset: TextDataset,
                      ceiling: Double, precision: MatrixPrecision) throws {
        var settings = preset.training
        settings.precision = precision
        let trainer = try Trainer(model: model, dataset: dataset, settings: settings)
        for _ in 0..<warmup { try trainer.trainStep() }
        let elapsed = try ContinuousClock().measure { for _ in 0..<steps { try trainer.trainStep() } }.seconds
            / Double(steps)
        let tokens = Double(preset.training.batchSize * preset.training.blockSize)
        let c = model.configuration
        let flops = 6 * Double(model.parameterCount) * tokens
            + 6 * Double(c.layerCount * c.blockSize * c.blockSize * c.embeddingSize * preset.training.batchSize)
        let bfloat16 = trainer.productPrecision == .bfloat16 ? KernelSettings.current.bfloat16Kernel : nil
        let kernel = bfloat16?.name ?? "fp32"
        print(String(format: "swift config=%@ precision=%@ kernel=%@ params=%d ms_per_step=%.1f tok_per_s=%.0f "
                     + "gflops=%.1f ceiling_share=%.0f%% peak_rss_mb=%.0f", name, precision.rawValue, kernel,
                     model.parameterCount, elapsed * 1000, tokens / elapsed, flops / elapsed / 1e9,
                     100 * flops / elapsed / 1e9 / ceiling, peakMegabytes()))
    }

    /// Times `sampleTokens` KV-cached tokens after a newline, as the reference does; the weights are rounded by
    /// the untimed first generation (as loading a checkpoint is not timed on either side).
    func timeSampling(_ name: String, model: GPTLanguageModel, tokenizer: CharacterTokenizer,
                      precision: MatrixPrecision) {
        let generator = TextGenerator(model: model, tokenizer: .character(tokenizer))
        var options = SamplingOptions()
        options.precision = precision
        options.maxNewTokens = 8
        _ = try? generator.generate(prompt: [0], options: options) { _ in true }
        options.maxNewTokens = sampleTokens
        let seconds = ContinuousClock().measure {
            _ = try? generator.generate(prompt: [0], options: options) { _ in true }
        }.seconds
        print(String(format: "swift config=%@ precision=%@ sample_tok_per_s=%.1f (kv cache, context %d)", name,
                     precision.rawValue, Double(sampleTokens) / seconds, model.configuration.blockSize))
    }
}

/// The process's peak resident memory so far, in megabytes.
func peakMegabytes() -> Double {
    var usage = rusage()
    #if canImport(Darwin)
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / 1_048_576
    #else
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
    #endif
}
