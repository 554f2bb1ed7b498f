import TensorModule

/// How a model is trained: batch shape, schedule, optimizer and evaluation. Saved with a run so it can be resumed.
public struct TrainingSettings: Codable, Equatable, Sendable {
    public var batchSize = 12
    public var blockSize = 64
    public var maxIterations = 2000
    public var learningRate: Float = 1e-3
    /// The floor of the cosine decay.
    public var minimumLearningRate: Float = 1e-4
    public var warmupIterations = 100
    /// Iterations over which the learning rate decays; 0 keeps it constant.
    public var decayIterations = 2000
    public var evalInterval = 250
    public var evalIterations = 20
    /// Validation batches of the final evaluation (the PyTorch reference averages 200).
    public var finalEvalIterations = 200
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    public var weightDecay: Float = 0.1
    /// Decay every parameter (PyTorch's default) rather than only matrices (nanoGPT).
    public var decayAllParameters = false
    /// Global gradient-norm clip; 0 disables it.
    public var gradientClip: Float = 1.0
    public var seed: UInt64 = 1337
    /// Micro-batches of `batchSize` sequences whose gradients are summed before each optimizer step (nanoGPT's
    /// `gradient_accumulation_steps`): a step sees `batchSize x gradientAccumulationSteps` sequences.
    public var gradientAccumulationSteps = 1
    /// `adamw` for every parameter, or `muon` for the 2-D matrices inside the blocks and AdamW for the rest
    /// (embeddings, head, gains and biases), each group with its own peak learning rate on the same schedule.
    public var optimizer = "adamw"
    /// Muon's peak learning rate (`--muon-learning-rate`), momentum and weight decay.
    public var muonLearningRate: Float = 0.02
    public var muonMomentum: Float = 0.95
    public var muonWeightDecay: Float = 0
    /// Stop at the first evaluation whose validation loss is at or below this (`--target-val-loss`: a speedrun).
    public var targetValidationLoss: Float?
    /// The inputs of the matrix products of forward and backward passes and evaluations (`--precision`): fp32, or
    /// bf16 with fp32 accumulation where the CPU has a bfloat16 kernel (else fp32, with a notice).
    public var precision = MatrixPrecision.float32

    public init() {}

    enum CodingKeys: String, CodingKey {
        case batchSize, blockSize, maxIterations, learningRate, minimumLearningRate, warmupIterations, decayIterations
        case evalInterval, evalIterations, finalEvalIterations, beta1, beta2, weightDecay, decayAllParameters
        case gradientClip, seed, gradientAccumulationSteps, optimizer, muonLearningRate, muonMomentum, muonWeightDecay
        case targetValidationLoss, precision
    }

    /// Reads saved settings; a key that an older version did not write takes its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingSettings()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        batchSize = try value(.batchSize, d.batchSize)
        blockSize = try value(.blockSize, d.blockSize)
        maxIterations = try value(.maxIterations, d.maxIterations)
        learningRate = try value(.learningRate, d.learningRate)
        minimumLearningRate = try value(.minimumLearningRate, d.minimumLearningRate)
        warmupIterations = try value(.warmupIterations, d.warmupIterations)
        decayIterations = try value(.decayIterations, d.decayIterations)
        evalInterval = try value(.evalInterval, d.evalInterval)
        evalIterations = try value(.evalIterations, d.evalIterations)
        finalEvalIterations = try value(.finalEvalIterations, d.finalEvalIterations)
        beta1 = try value(.beta1, d.beta1)
        beta2 = try value(.beta2, d.beta2)
        weightDecay = try value(.weightDecay, d.weightDecay)
        decayAllParameters = try value(.decayAllParameters, d.decayAllParameters)
        gradientClip = try value(.gradientClip, d.gradientClip)
        seed = try value(.seed, d.seed)
        gradientAccumulationSteps = try value(.gradientAccumulationSteps, d.gradientAccumulationSteps)
        optimizer = try value(.optimizer, d.optimizer)
        muonLearningRate = try value(.muonLearningRate, d.muonLearningRate)
        muonMomentum = try value(.muonMomentum, d.muonMomentum)
        muonWeightDecay = try value(.muonWeightDecay, d.muonWeightDecay)
        targetValidationLoss = try c.decodeIfPresent(Float.self, forKey: .targetValidationLoss)
        precision = try value(.precision, d.precision)
    }

    /// The largest count of any loop the settings drive (steps, warm-up, decay, evaluation interval), so that a
    /// run, an estimate or a schedule never meets an absurd or overflowing number.
    public static let maximumIterations = 1_000_000_000
    /// The most batches one evaluation may average over each split.
    public static let maximumEvalIterations = 100_000
    /// The most tokens one batch may hold (`batch size x block size`).
    public static let maximumBatchTokens = 1 << 24

    /// Throws naming the first setting that cannot work: every number has a lower and an upper bound.
    public func validate() throws {
        func fail(_ name: String, _ reason: String) -> GPTError { .invalidArgument(name: name, reason: reason) }
        func check(_ value: Int, _ range: ClosedRange<Int>, _ name: String) throws {
            guard range.contains(value) else { throw fail(name, "must be in \(range.lowerBound)...\(range.upperBound), got \(value)") }
        }
        func check(_ value: Float, _ range: ClosedRange<Float>, _ name: String, open: Bool = false) throws {
            guard value.isFinite, range.contains(value), !open || value != range.upperBound else {
                let shown = open ? "[\(range.lowerBound), \(range.upperBound))" : "\(range.lowerBound)...\(range.upperBound)"
                throw fail(name, "must be in \(shown), got \(value)")
            }
        }
        try check(batchSize, 1...65_536, "--batch-size")
        try check(blockSize, 1...1_048_576, "--block-size")
        if batchSize * blockSize > Self.maximumBatchTokens {
            throw fail("--batch-size", "x --block-size is \(batchSize * blockSize) tokens a batch; at most \(Self.maximumBatchTokens)")
        }
        try check(gradientAccumulationSteps, 1...1024, "--gradient-accumulation-steps")
        if batchSize * blockSize * gradientAccumulationSteps > Self.maximumBatchTokens * 64 {
            throw fail("--gradient-accumulation-steps", "x --batch-size x --block-size is more than \(Self.maximumBatchTokens * 64) tokens a step")
        }
        try check(maxIterations, 0...Self.maximumIterations, "--max-iters")
        try check(evalInterval, 1...Self.maximumIterations, "--eval-interval")
        try check(evalIterations, 1...Self.maximumEvalIterations, "--eval-iters")
        try check(finalEvalIterations, 1...Self.maximumEvalIterations, "final_eval_iterations")
        try check(warmupIterations, 0...Self.maximumIterations, "--warmup-iters")
        try check(decayIterations, 0...Self.maximumIterations, "--lr-decay-iters")
        guard learningRate.isFinite, learningRate > 0, learningRate <= 10 else {
            throw fail("--learning-rate", "must be in (0, 10], got \(learningRate)")
        }
        try check(minimumLearningRate, 0...learningRate, "--min-lr")
        try check(beta1, 0...1, "--beta1", open: true)
        try check(beta2, 0...1, "--beta2", open: true)
        try check(weightDecay, 0...10, "--weight-decay")
        try check(gradientClip, 0...1e6, "--grad-clip")
        guard ["adamw", "muon"].contains(optimizer) else {
            throw fail("--optimizer", "use adamw or muon, not \(optimizer.prefix(40))")
        }
        guard muonLearningRate.isFinite, muonLearningRate > 0, muonLearningRate <= 10 else {
            throw fail("--muon-learning-rate", "must be in (0, 10], got \(muonLearningRate)")
        }
        try check(muonMomentum, 0...1, "--muon-momentum", open: true)
        try check(muonWeightDecay, 0...10, "--muon-weight-decay")
        if let target = targetValidationLoss { try check(target, 0...1e4, "--target-val-loss") }
    }
}

/// A named starting point for `gpt train --preset`: a model shape and its training settings.
public struct TrainingPreset: Sendable {
    public let name: String
    public let summary: String
    /// The model for a vocabulary of the given size.
    public let model: @Sendable (Int) -> ModelConfiguration
    public let training: TrainingSettings

    public static let all: [TrainingPreset] = [bigram, tiny, baby, lecture, modern]

    public static func named(_ name: String) throws -> TrainingPreset {
        guard let preset = all.first(where: { $0.name == name }) else {
            throw GPTError.invalidArgument(name: "--preset", reason:
                "unknown preset \(name.debugDescription); choose one of \(all.map(\.name).joined(separator: ", "))")
        }
        return preset
    }

    /// The lecture's GPT layout (ReLU, untied head with bias, no bias on key/query/value), as the PyTorch reference.
    static func gpt(_ vocab: Int, block: Int, layers: Int, heads: Int, width: Int, dropout: Float) -> ModelConfiguration {
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: vocab, blockSize: block)
        configuration.layerCount = layers
        configuration.headCount = heads
        configuration.embeddingSize = width
        configuration.dropout = dropout
        return configuration
    }

    /// The lecture's bigram.py: batch 32, block 8, 3000 iterations at 1e-2, evaluation every 300 over 200 batches.
    public static let bigram: TrainingPreset = {
        var s = TrainingSettings()
        (s.batchSize, s.blockSize, s.maxIterations, s.learningRate) = (32, 8, 3000, 1e-2)
        (s.evalInterval, s.evalIterations, s.finalEvalIterations) = (300, 200, 200)
        (s.warmupIterations, s.decayIterations, s.beta2, s.weightDecay) = (0, 0, 0.999, 0.01)
        (s.decayAllParameters, s.gradientClip) = (true, 0)
        return TrainingPreset(name: "bigram", summary: "the lecture's bigram.py", model: { .bigram(vocabSize: $0, blockSize: 8) },
                              training: s)
    }()

    /// A small GPT: batch 16, block 32, 4 layers, 4 heads, 64 wide.
    public static let tiny: TrainingPreset = {
        var s = TrainingSettings()
        (s.batchSize, s.blockSize) = (16, 32)
        return TrainingPreset(name: "tiny", summary: "4 layers, 4 heads, 64 wide, block 32",
                              model: { gpt($0, block: 32, layers: 4, heads: 4, width: 64, dropout: 0) }, training: s)
    }()

    /// nanoGPT's CPU preset: batch 12, block 64, 4 layers, 4 heads, 128 wide, 2000 iterations, 1e-3 with 100
    /// warm-up steps and cosine decay to 1e-4, beta2 0.99, weight decay 0.1 on matrices, clipping at 1.0.
    public static let baby = TrainingPreset(
        name: "baby", summary: "nanoGPT's CPU preset: 4 layers, 4 heads, 128 wide, block 64",
        model: { gpt($0, block: 64, layers: 4, heads: 4, width: 128, dropout: 0) }, training: TrainingSettings())

    /// The lecture's gpt.py: batch 64, block 256, 6 layers, 6 heads, 384 wide, dropout 0.2, 3e-4, 5000 iterations.
    public static let lecture: TrainingPreset = {
        var s = TrainingSettings()
        (s.batchSize, s.blockSize, s.maxIterations, s.learningRate) = (64, 256, 5000, 3e-4)
        (s.evalInterval, s.evalIterations, s.warmupIterations, s.decayIterations) = (500, 200, 0, 0)
        (s.beta2, s.weightDecay, s.decayAllParameters, s.gradientClip) = (0.999, 0.01, true, 0)
        return TrainingPreset(name: "lecture", summary: "the lecture's gpt.py: 6 layers, 6 heads, 384 wide, block 256",
                              model: { gpt($0, block: 256, layers: 6, heads: 6, width: 384, dropout: 0.2) }, training: s)
    }()

    /// The modern layout (nanochat's, the modded-nanogpt speedrun's) near baby's size, tuned on 2 cores for the
    /// shortest wall time to baby's validation loss (the README's speedrun log): rotary positions, RMSNorm without
    /// gain (also after the embedding), QK-norm, ReLU², no biases, an untied head, zero-initialised projections, a
    /// soft-cap of 15; Muon for the blocks' matrices, AdamW for the rest.
    public static let modern: TrainingPreset = {
        var s = TrainingSettings()
        (s.batchSize, s.blockSize, s.maxIterations, s.learningRate, s.minimumLearningRate) = (32, 64, 300, 6e-3, 6e-4)
        (s.evalInterval, s.evalIterations, s.finalEvalIterations, s.warmupIterations, s.decayIterations) = (100, 10, 10, 50, 300)
        (s.optimizer, s.muonLearningRate, s.weightDecay) = ("muon", 0.05, 0)
        return TrainingPreset(name: "modern", summary: "nanochat's layout with Muon: 3 layers, 4 heads, 128 wide, block 64, batch 32",
                              model: { modernGPT($0, block: 64, layers: 3, heads: 4, width: 128) }, training: s)
    }()

    /// nanochat's layout of a GPT of the given shape.
    static func modernGPT(_ vocab: Int, block: Int, layers: Int, heads: Int, width: Int) -> ModelConfiguration {
        var c = gpt(vocab, block: block, layers: layers, heads: heads, width: width, dropout: 0)
        (c.positionEncoding, c.norm, c.normAffine, c.qkNorm, c.embeddingNorm) = (.rope, .rmsNorm, false, true, true)
        (c.activation, c.bias, c.attentionBias, c.lmHeadBias, c.tiedEmbeddings) = (.relu2, false, false, false, false)
        (c.zeroInitProjections, c.logitSoftcap) = (true, 15)
        return c
    }
}
