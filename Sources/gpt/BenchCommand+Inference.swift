import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

extension BenchCommand {
    /// `gpt bench --inference`: prefill and decoding speed of a GPT-2 124M-shaped model (random weights, GPT-2's
    /// layout: GELU, biases, tied head), or of the checkpoint `--checkpoint` names (its load timed), in each precision
    /// of `--precision`, the precisions alternating round after round; medians. Each precision's weight copies are
    /// made by an untimed warm-up (as loading is not timed).
    func timeInference() throws {
        let batchSizes = try batch.map(Self.batchSizes)  // refused before anything runs
        let (model, tokenizer, description) = try inferenceModel()
        let vocabularySize = model.configuration.vocabSize
        let prompt = (0..<promptTokens).map { ($0 * 7919) % vocabularySize }
        print("backend: \(MatrixBackend.current), cores: \(kernelThreadCount), bfloat16 kernel: "
              + "\(KernelSettings.current.bfloat16Kernel?.description ?? "none"), 8-bit kernel: \(QuantizedKernel.machine)")
        print("model: \(description) (\(model.parameterCount) parameters), prompt \(promptTokens) tokens, "
              + "\(sampleTokens) decoded tokens (temperature 1, no top-k: the unsorted draw)")
        var prefill: [MatrixPrecision: [Double]] = [:], decode: [MatrixPrecision: [Double]] = [:]
        var generators: [MatrixPrecision: TextGenerator] = [:]
        for precision in precision.values {
            let textGenerator = TextGenerator(model: model, tokenizer: tokenizer)
            var options = SamplingOptions()
            (options.precision, options.maxNewTokens) = (precision, 2)
            _ = try textGenerator.generate(prompt: [1], options: options) { _ in true }  // makes the weight copies
            generators[precision] = textGenerator
        }
        for round in 1...max(1, rounds) {
            for precision in precision.values {
                let textGenerator = generators[precision]!
                var options = SamplingOptions()
                (options.precision, options.maxNewTokens, options.seed) = (precision, 1, UInt64(round))
                // Prefill: the prompt and one token (its sampling included, as llama.cpp's prompt timing).
                let prefillSeconds = try ContinuousClock().measure {
                    try textGenerator.generate(prompt: prompt, options: options) { _ in true }
                }.seconds
                options.maxNewTokens = sampleTokens + 1
                let total = try ContinuousClock().measure {
                    try textGenerator.generate(prompt: [1], options: options) { _ in true }
                }.seconds
                let oneToken = try ContinuousClock().measure {  // the one-token prefill to take off
                    options.maxNewTokens = 1
                    try textGenerator.generate(prompt: [1], options: options) { _ in true }
                }.seconds
                prefill[precision, default: []].append(Double(promptTokens) / prefillSeconds)
                decode[precision, default: []].append(Double(sampleTokens) / max(1e-9, total - oneToken))
                print(String(format: "round %d precision=%@ prefill_tok_per_s=%.1f decode_tok_per_s=%.1f", round,
                             precision.rawValue, prefill[precision]!.last!, decode[precision]!.last!))
            }
        }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        for precision in precision.values {
            print(String(format: "swift inference precision=%@ prefill_tok_per_s=%.1f decode_tok_per_s=%.1f "
                         + "(medians of %d) peak_rss_mb=%.0f", precision.rawValue, median(prefill[precision]!),
                         median(decode[precision]!), max(1, rounds), peakMegabytes()))
        }
        if let batchSizes {
            timeBatches(batchSizes, kvCaches: kvCache.values, model: model, tokenizer: tokenizer, median: median)
        }
    }

    /// `--batch 1,8`: aggregate decoding tokens/s of each batch size in each precision and KV cache precision
    /// (`--kv-cache`), alternating round after round; medians, and each size's ratio to the first.
    private func timeBatches(_ sizes: [Int], kvCaches: [KVCachePrecision], model: GPTLanguageModel,
                             tokenizer: Tokenizer, median: ([Double]) -> Double) {
        var rates: [String: [Double]] = [:]
        let settings = precision.values.flatMap { precision in kvCaches.map { (precision, $0) } }
        for round in 1...max(1, rounds) {
            for (precision, kvCache) in settings {
                for size in sizes {
                    let rate = DecodingBatch.aggregateTokensPerSecond(
                        model: model, tokenizer: tokenizer, sequences: size, tokens: sampleTokens, precision: precision,
                        kvCache: kvCache, seed: UInt64(round * 1000))
                    rates["\(precision) \(kvCache) \(size)", default: []].append(rate)
                    print(String(format: "round %d precision=%@ kv_cache=%@ batch=%d aggregate_decode_tok_per_s=%.1f",
                                 round, precision.rawValue, kvCache.rawValue, size, rate))
                }
            }
        }
        for (precision, kvCache) in settings {
            let first = median(rates["\(precision) \(kvCache) \(sizes[0])"]!)
            for size in sizes {
                let rate = median(rates["\(precision) \(kvCache) \(size)"]!)
                print(String(format: "swift batched precision=%@ kv_cache=%@ batch=%d aggregate_decode_tok_per_s=%.1f "
                             + "(%.2fx batch %d; medians of %d)", precision.rawValue, kvCache.rawValue, size, rate,
                             rate / first, sizes[0], max(1, rounds)))
            }
        }
    }

    /// `--batch`'s sizes, each in 1...256.
    private static func batchSizes(_ list: String) throws -> [Int] {
        try list.split(separator: ",", omittingEmptySubsequences: false).map { text -> Int in
            guard let size = Int(text.trimmingCharacters(in: .whitespaces)), (1...256).contains(size) else {
                throw ValidationError("--batch takes sizes in 1...256 separated by commas, not \(text.prefix(20))")
            }
            return size
        }
    }

    /// The model to time: `--checkpoint`'s (its load time printed) or GPT-2 124M's shape with random weights.
    private func inferenceModel() throws -> (GPTLanguageModel, Tokenizer, String) {
        if let checkpoint {
            let start = ContinuousClock.now
            let loaded = try Checkpoint.load(from: URL(fileURLWithPath: checkpoint))
            guard let gpt = loaded.model as? GPTLanguageModel else {
                throw ValidationError("--inference times a GPT; \(checkpoint) holds a bigram model")
            }
            print(String(format: "load: %.2f s (%@)", (ContinuousClock.now - start).seconds, checkpoint))
            return (gpt, loaded.tokenizer, checkpoint)
        }
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: 50_257, blockSize: 1024)
        (configuration.layerCount, configuration.headCount, configuration.embeddingSize) = (12, 12, 768)
        (configuration.activation, configuration.tiedEmbeddings, configuration.lmHeadBias) = (.gelu, true, false)
        configuration.attentionBias = true
        var generator = SeededGenerator(seed: 1337)
        guard let model = try makeModel(configuration, generator: &generator) as? GPTLanguageModel else {
            throw ValidationError("the GPT-2 shape did not make a GPT")
        }
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghijklmnopqrstuvwxyz"))
        return (model, tokenizer, "GPT-2 124M shape")
    }
}
