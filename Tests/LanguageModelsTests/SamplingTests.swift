import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

@Suite struct SamplingTests {
    static func tinyGPT(seed: UInt64 = 21) -> GPTLanguageModel {
        var generator = SeededGenerator(seed: seed)
        var configuration = AttentionTests.tinyConfiguration()
        configuration.activation = .gelu
        return GPTLanguageModel(configuration, generator: &generator)
    }

    static let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghijk"))

    func generated(_ generator: TextGenerator, prompt: [Int], options: SamplingOptions) throws -> (String, FinishReason) {
        var text = ""
        let reason = try generator.generate(prompt: prompt, options: options) { piece in
            text += piece.text
            return true
        }
        return (text, reason)
    }

    @Test func cachedDecodeEqualsFullForward() {
        let model = Self.tinyGPT()
        let tokens = [3, 1, 4, 1, 5, 9, 2, 6]
        let cache = KVCache(model.configuration)
        var logits = model.prefill([tokens[0]], cache: cache)
        for t in 1..<tokens.count {
            let full = model.forward(Array(tokens[0..<t])).logits.values
            #expect(compare(logits, Array(full.suffix(11)), absolute: 1e-5).passed, "position \(t - 1)")
            logits = model.decode(tokens[t], cache: cache)
        }
    }

    @Test func bfloat16DecodeStaysCloseToFloat32() throws {
        let model = Self.tinyGPT()
        let weights = RoundedWeights(model.matrices)
        let exact = KVCache(model.configuration), half = KVCache(model.configuration)
        _ = model.prefill([3], cache: exact)
        _ = model.prefill([3], cache: half)
        for token in [1, 4, 1, 5, 9] {
            let a = model.decode(token, cache: exact)
            let b = KernelSettings.with(precision: .bfloat16, weights: weights) { model.decode(token, cache: half) }
            #expect(compare(b, a, absolute: 2e-2, relative: 2e-2).passed, "token \(token)")
            #expect(a != b, "the bfloat16 weights were not used")
        }
        var options = SamplingOptions()
        options.maxNewTokens = 12
        options.precision = .bfloat16
        let generator = TextGenerator(model: model, tokenizer: Self.tokenizer)
        var count = 0
        try generator.generate(prompt: [1], options: options) { piece in
            count += piece.tokens.count
            return true
        }
        #expect(count == 12)
    }

    @Test func greedyWithCacheEqualsUncachedBeyondTwiceTheBlockSize() throws {
        let model = Self.tinyGPT()
        var options = SamplingOptions()
        (options.temperature, options.maxNewTokens) = (0, 20)  // block size 8
        let (text, reason) = try generated(TextGenerator(model: model, tokenizer: Self.tokenizer), prompt: [2, 7], options: options)
        #expect(reason == .length)
        // Uncached reference: the lecture's loop, cropping the context and taking the argmax.
        var context = [2, 7]
        for _ in 0..<20 {
            let logits = model.forward(Array(context.suffix(8))).logits.values.suffix(11)
            context.append(Array(logits).indices.max { logits[logits.startIndex + $0] < logits[logits.startIndex + $1] }!)
        }
        #expect(text == Self.tokenizer.decode(Array(context.dropFirst(2))))
        #expect(text.count == 20)
    }

    @Test func topKOneIsGreedyAndSeedsRepeat() throws {
        let generator = TextGenerator(model: Self.tinyGPT(), tokenizer: Self.tokenizer)
        var greedy = SamplingOptions(), topOne = SamplingOptions(), sampled = SamplingOptions()
        (greedy.temperature, greedy.maxNewTokens) = (0, 30)
        (topOne.topK, topOne.maxNewTokens) = (1, 30)
        sampled.maxNewTokens = 30
        #expect(try generated(generator, prompt: [0], options: greedy).0 == generated(generator, prompt: [0], options: topOne).0)
        let first = try generated(generator, prompt: [0], options: sampled).0
        #expect(first == (try generated(generator, prompt: [0], options: sampled).0))
        sampled.seed += 1
        #expect(first != (try generated(generator, prompt: [0], options: sampled).0))
    }

    @Test func samplingFrequenciesMatchTheDistribution() {
        // Chi-square goodness of fit for softmax([0, 1, 2, 0.5, -1]) over 20,000 draws.
        let logits: [Float] = [0, 1, 2, 0.5, -1]
        let weights = logits.map { exp(Double($0)) }, total = weights.reduce(0, +)
        var counts = [Double](repeating: 0, count: 5)
        var generator = SeededGenerator(seed: 3)
        let draws = 20_000
        for _ in 0..<draws {
            counts[chooseToken(logits: logits, context: [], options: SamplingOptions(), generator: &generator).token] += 1
        }
        var chiSquare = 0.0
        for (observed, weight) in zip(counts, weights) {
            let expected = Double(draws) * weight / total
            chiSquare += (observed - expected) * (observed - expected) / expected
        }
        #expect(chiSquare < 18.47, "chi-square \(chiSquare) over the 0.999 quantile for 4 degrees of freedom")
    }

    @Test func topKAndTopPRestrictTheCandidates() {
        let logits: [Float] = [5, 4, 0, -1, -2]
        var generator = SeededGenerator(seed: 4)
        var options = SamplingOptions()
        options.topK = 2
        for _ in 0..<200 { #expect(chooseToken(logits: logits, context: [], options: options, generator: &generator).token < 2) }
        options.topK = nil
        options.topP = 0.5  // token 0 alone holds about 73%
        for _ in 0..<200 { #expect(chooseToken(logits: logits, context: [], options: options, generator: &generator).token == 0) }
    }

    @Test func stopSequencesSpanningTokensNeverLeak() throws {
        // A bigram that cycles a -> b -> c -> d -> a ...
        var seed = SeededGenerator(seed: 1)
        let model = BigramLanguageModel(vocabSize: 4, generator: &seed)
        let table = model.tokenEmbeddingTable.weight.storage.pointer
        for i in 0..<4 { for j in 0..<4 { table[i * 4 + j] = j == (i + 1) % 4 ? 60 : 0 } }
        let generator = TextGenerator(model: model, tokenizer: .character(CharacterTokenizer(training: "abcd")))
        var options = SamplingOptions()
        (options.maxNewTokens, options.stop) = (20, ["cd"])
        var pieces: [String] = []
        let reason = try generator.generate(prompt: [0], options: options) { pieces.append($0.text); return true }
        #expect(reason == .stop)
        #expect(pieces.joined() == "b")
        options.stop = ["zz"]
        options.maxNewTokens = 6
        #expect(try generated(generator, prompt: [0], options: options) == ("bcdabc", .length))
    }

    @Test func invalidOptionsAreTypedErrors() {
        let bad: [(inout SamplingOptions) -> Void] = [
            { $0.temperature = -1 }, { $0.topP = 0 }, { $0.topP = 1.5 }, { $0.maxNewTokens = 0 }, { $0.topK = 0 },
            { $0.temperature = .nan },
        ]
        for change in bad {
            var options = SamplingOptions()
            change(&options)
            #expect(throws: GPTError.self) { try options.validate() }
        }
    }

    @Test func asyncStreamYieldsTheSameText() async throws {
        let generator = TextGenerator(model: Self.tinyGPT(), tokenizer: Self.tokenizer)
        var options = SamplingOptions()
        options.maxNewTokens = 12
        var streamed = ""
        for try await piece in generator.stream(prompt: "abc", options: options) { streamed += piece }
        #expect(streamed == (try generated(generator, prompt: try Self.tokenizer.encode("abc"), options: options).0))
        var first = ""
        for try await piece in generator.stream(prompt: "abc", options: options) {
            first = piece
            break  // ends the stream: generation stops at the next token
        }
        #expect(first.count == 1)
    }
}

/// The partial selections of `chooseToken` against `naiveChooseToken` (a sort of every token).
@Suite struct PartialSelectionTests {
    static func randomLogits(count: Int, seed: UInt64, ties: Bool = false) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let value = Float(generator.nextDouble() * 8 - 4)
            return ties ? value.rounded() : value  // rounded: many equal logits, so the tie order matters
        }
    }

    @Test(arguments: [false, true]) func largestIndicesEqualASortedPrefix(ties: Bool) {
        let logits = Self.randomLogits(count: 1000, seed: 5, ties: ties)
        let sorted = Array(logits.indices).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        for count in [0, 1, 2, 7, 64, 999, 1000, 1200] {
            #expect(largestIndices(logits, count: count) == Array(sorted.prefix(count)), "count \(count)")
        }
    }

    @Test(arguments: [(Int?.some(1), Float(1)), (5, 1), (40, 1), (nil, 0.9), (nil, 0.3), (30, 0.8), (nil, 0.999)])
    func topKAndTopPDrawAsTheFullSortDoes(topK: Int?, topP: Float) {
        var options = SamplingOptions()
        (options.topK, options.topP, options.temperature) = (topK, topP, 0.8)
        for seed in UInt64(1)...4 {
            let logits = Self.randomLogits(count: 500, seed: seed, ties: seed == 4)
            var fast = SeededGenerator(seed: seed), naive = SeededGenerator(seed: seed)
            for draw in 0..<50 {
                let token = chooseToken(logits: logits, context: [], options: options, generator: &fast).token
                #expect(token == naiveChooseToken(logits: logits, options: options, generator: &naive),
                        "seed \(seed), draw \(draw)")
            }
        }
    }

    @Test func temperatureAloneDrawsTheSoftmax() {
        // Chi-square over 8 tokens at temperature 0.7 (drawn without sorting, in token order).
        let logits: [Float] = [0.5, -1, 2, 1.5, 0, 1, -0.5, 2]
        let weights = logits.map { exp(Double($0) / 0.7) }, total = weights.reduce(0, +)
        var options = SamplingOptions()
        options.temperature = 0.7
        var counts = [Double](repeating: 0, count: logits.count)
        var generator = SeededGenerator(seed: 9)
        let draws = 20_000
        for _ in 0..<draws { counts[chooseToken(logits: logits, context: [], options: options, generator: &generator).token] += 1 }
        let chiSquare = zip(counts, weights).reduce(0.0) { sum, pair in
            let expected = Double(draws) * pair.1 / total
            return sum + (pair.0 - expected) * (pair.0 - expected) / expected
        }
        #expect(chiSquare < 24.32, "chi-square \(chiSquare) over the 0.999 quantile for 7 degrees of freedom")
    }

    @Test func logprobAlternativesAreTheMostLikelyTokens() {
        let logits = Self.randomLogits(count: 300, seed: 7, ties: true)
        var options = SamplingOptions()
        options.logprobs = 5
        var generator = SeededGenerator(seed: 1)
        let choice = chooseToken(logits: logits, context: [], options: options, generator: &generator)
        let sorted = Array(logits.indices).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        #expect(choice.alternatives.map(\.token) == Array(sorted.prefix(5)))
    }
}

/// 8-bit weights (`--precision q8`) in a tiny model: prefill and decoding close to fp32; training refuses them.
@Suite struct QuantizedInferenceTests {
    @Test func q8LogitsStayCloseToFloat32() throws {
        let model = SamplingTests.tinyGPT()
        let weights = RoundedWeights(model.matrices)
        let exact = KVCache(model.configuration), eight = KVCache(model.configuration)
        let prompt = [3, 1, 4]
        let a = model.prefill(prompt, cache: exact)
        let b = KernelSettings.with(precision: .q8, weights: weights) { model.prefill(prompt, cache: eight) }
        #expect(compare(b, a, absolute: 3e-2, relative: 3e-2).passed, "prefill")
        #expect(a != b, "the 8-bit weights were not used")
        for token in [1, 5, 9] {
            let a = model.decode(token, cache: exact)
            let b = KernelSettings.with(precision: .q8, weights: weights) { model.decode(token, cache: eight) }
            #expect(compare(b, a, absolute: 3e-2, relative: 3e-2).passed, "token \(token)")
        }
        var options = SamplingOptions()
        (options.maxNewTokens, options.precision) = (10, .q8)
        var count = 0
        try TextGenerator(model: model, tokenizer: SamplingTests.tokenizer).generate(prompt: [1], options: options) {
            count += $0.tokens.count
            return true
        }
        #expect(count == 10)
    }

    @Test func trainingRefusesQ8() {
        var settings = TrainingSettings()
        settings.precision = .q8
        #expect(throws: GPTError.self) { try settings.validate() }
    }
}
