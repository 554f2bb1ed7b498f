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
    /// Muon's 2026 refinements (``Muon``): Polar Express's coefficients (`--muon-polar-express`), NorMuon's second
    /// moment at rate `1 - β₂` (`--muon-beta2`, 0: off), cautious weight decay (`--muon-cautious-weight-decay`).
    public var muonPolarExpress = false
    public var muonBeta2: Float = 0
    public var muonCautiousWeightDecay = false
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
        case muonPolarExpress, muonBeta2, muonCautiousWeightDecay
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
        muonPolarExpress = try value(.muonPolarExpress, d.muonPolarExpress)
        muonBeta2 = try value(.muonBeta2, d.muonBeta2)
        muonCautiousWeightDecay = try value(.muonCautiousWeightDecay, d.muonCautiousWeightDecay)
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
        guard precision.isTrainable else {
            throw fail("--precision", "\(precision) (8-bit weights) is for sampling, evaluation and serving; train in fp32 or bf16")
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
        try check(muonBeta2, 0...1, "--muon-beta2", open: true)
        if let target = targetValidationLoss { try check(target, 0...1e4, "--target-val-loss") }
    }
}
