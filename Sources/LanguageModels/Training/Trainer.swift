import NN
import TensorModule

/// What a training run reports as it goes.
public enum TrainingEvent: Sendable {
    /// After each optimizer step: the step number (1-based), its loss, throughput and estimated time left.
    case step(step: Int, loss: Float, tokensPerSecond: Double, secondsLeft: Double)
    /// Mean losses over random batches of each split (the lecture's `estimate_loss`).
    case evaluation(step: Int, trainLoss: Float, validationLoss: Float)
    /// During an evaluation, after each of its `total` batches (both splits together): `done` so far.
    case evaluating(step: Int, done: Int, total: Int)
}

/// The lecture's training loop: sample a batch, forward, backward, clip, AdamW step; evaluate every
/// `evalInterval` steps and at the end.
public final class Trainer {
    public let model: any LanguageModel
    public let dataset: any TrainingData
    public let settings: TrainingSettings
    /// AdamW, for every parameter, or with Muon for those Muon does not take.
    public let optimizer: AdamW
    /// Muon, for the blocks' matrices, when the settings name it.
    public let muon: Muon?
    /// The names of the parameters of each optimizer, in their order (for saving and restoring their state).
    let adamWNames: [String], muonNames: [String]
    /// Draws the training and evaluation batches.
    public var generator: SeededGenerator
    /// Optimizer steps taken so far.
    public internal(set) var step = 0
    /// The step of the last evaluation, so a resumed run does not evaluate (and draw batches) twice.
    public internal(set) var evaluatedStep = -1
    /// The lowest validation loss seen so far.
    public internal(set) var bestValidationLoss = Float.infinity
    /// Set (from a signal handler, say) to stop after the current step.
    public let stopRequest = CancellationFlag()
    /// Where a speedrun reached ``TrainingSettings/targetValidationLoss``: the step, the loss, the wall time since
    /// ``run(report:save:)`` began (evaluations included) and the tokens trained on.
    public internal(set) var reachedTarget: (step: Int, validationLoss: Float, seconds: Double, tokens: Int)?
    /// The learning rate of the last step taken.
    public private(set) var lastLearningRate: Float = 0
    /// Parts of each batch trained side by side, one per thread (1: the whole batch, kernels split across
    /// cores). See ``defaultShardCount(model:settings:)``.
    public var dataParallelShards: Int
    /// The parts' gradient collectors, kept from step to step (see ``GradientShard/reset()``).
    var gradientShards: [GradientShard] = []
    /// The weight matrices' bfloat16 copies of a bf16 run, their memory kept from step to step.
    lazy var roundedWeights = RoundedWeights(model.parameters)

    public init(model: any LanguageModel, dataset: any TrainingData, settings: TrainingSettings) throws {
        try settings.validate()
        try Self.checkMemory(model.configuration, settings: settings)
        try dataset.validate(blockSize: settings.blockSize)
        if settings.blockSize > model.configuration.blockSize {
            throw GPTError.invalidConfiguration(field: "block_size", reason:
                "(\(model.configuration.blockSize)) is smaller than the training block size \(settings.blockSize)")
        }
        self.model = model
        self.dataset = dataset
        self.settings = settings
        let named = model.namedParameters()
        let toMuon = named.map { settings.optimizer == "muon" && $0.tensor.rank == 2 && $0.name.hasPrefix("transformer.h.") }
        let adamW = zip(named, toMuon).filter { !$0.1 }.map(\.0), matrices = zip(named, toMuon).filter(\.1).map(\.0)
        (adamWNames, muonNames) = (adamW.map(\.name), matrices.map(\.name))
        optimizer = AdamW(
            parameters: adamW.map(\.tensor),
            settings: .init(learningRate: settings.learningRate, beta1: settings.beta1, beta2: settings.beta2,
                            weightDecay: settings.weightDecay),
            decayAll: settings.decayAllParameters)
        var muonSettings = Muon.Settings(learningRate: settings.muonLearningRate, momentum: settings.muonMomentum,
                                         weightDecay: settings.muonWeightDecay)
        (muonSettings.polarExpress, muonSettings.beta2) = (settings.muonPolarExpress, settings.muonBeta2)
        muonSettings.cautiousWeightDecay = settings.muonCautiousWeightDecay
        muon = matrices.isEmpty ? nil : Muon(parameters: matrices.map(\.tensor), settings: muonSettings)
        generator = SeededGenerator(seed: settings.seed)
        dataParallelShards = Self.defaultShardCount(model: model, settings: settings)
    }

    /// The bytes training `configuration` with `settings` needs, about: weights, gradients and AdamW's two moments
    /// (four copies of the parameters) plus the activations of one batch; `Int.max` when that overflows.
    public static func memoryEstimate(_ configuration: ModelConfiguration, settings: TrainingSettings) throws -> Int {
        let parameters = try configuration.parameterBytes()
        let c = max(1, configuration.embeddingSize), layers = max(1, configuration.layerCount)
        // Per token and block, with their gradients: about 18 C floats around attention and the norms, and the
        // feed-forward's hidden vectors (its input product and activation; gated, also the up product and the
        // gate-times-up), F wide each. With F = 4 C ungated, the 34 C of GPT-2. Then the logits and their gradient.
        let f = max(1, configuration.feedForwardWidth), hiddenVectors = configuration.gatedFeedForward ? 4 : 2
        let perBlock = 18 * c + 2 * hiddenVectors * f
        let tokens = settings.batchSize * settings.blockSize
        let (activations, overflow) = (layers * perBlock + 4 * configuration.vocabSize).multipliedReportingOverflow(by: 4 * tokens)
        let (state, stateOverflow) = parameters.multipliedReportingOverflow(by: 4)
        let (needed, sumOverflow) = activations.addingReportingOverflow(state)
        return overflow || stateOverflow || sumOverflow ? Int.max : needed
    }

    /// Refuses a run whose ``memoryEstimate(_:settings:)`` would not fit in this machine's memory, before the first
    /// step allocates it.
    static func checkMemory(_ configuration: ModelConfiguration, settings: TrainingSettings) throws {
        let needed = try memoryEstimate(configuration, settings: settings)
        let available = ModelConfiguration.availableMemory
        if needed > available * 4 / 5 {
            throw GPTError.invalidArgument(name: "--batch-size", reason: "training needs about \(needed == Int.max ? "more than \(formatBytes(Int.max))" : formatBytes(needed)) "
                + "(weights, gradients, optimizer state, one batch's activations); this machine has \(formatBytes(available)): "
                + "use a smaller --batch-size, --block-size or model")
        }
    }

    /// The precision this run's products actually use: ``TrainingSettings/precision``, unless that is bf16 and no
    /// bfloat16 kernel runs here (then fp32).
    public var productPrecision: MatrixPrecision {
        settings.precision == .bfloat16 && KernelSettings.current.bfloat16Kernel != nil ? .bfloat16 : .float32
    }

    /// Runs `body` (forward and backward passes, or an evaluation) with the products in ``productPrecision``; in
    /// bf16 the weight matrices are rounded once for the whole of `body` (``RoundedWeights``), not per product.
    func inProductPrecision<Result>(_ body: () throws -> Result) rethrows -> Result {
        guard productPrecision == .bfloat16 else { return try body() }
        roundedWeights.invalidate()  // the weights have changed since the last scope (or may have)
        return try KernelSettings.with(precision: .bfloat16, weights: roundedWeights, body)
    }

    /// The learning rate of the current step.
    public var currentLearningRate: Float {
        learningRate(step: step, maximum: settings.learningRate, minimum: settings.minimumLearningRate,
                     warmupSteps: settings.warmupIterations, decaySteps: settings.decayIterations)
    }

    /// Takes one optimizer step and returns its loss; throws if the loss or gradient norm is not finite, before
    /// touching the weights.
    @discardableResult
    public func trainStep() throws -> Float {
        // nanoGPT's gradient accumulation: micro-batches drawn one after another, their gradients summed with
        // weight 1/N, the clip and the update once. The same loss and gradient as one N-times larger batch.
        let micro = settings.gradientAccumulationSteps, rows = settings.batchSize * micro
        var x: [Int] = [], y: [Int] = []
        for _ in 0..<micro {
            let (bx, by) = dataset.batch(.train, batchSize: settings.batchSize, blockSize: settings.blockSize,
                                         generator: &generator)
            x += bx
            y += by
        }
        model.clearGradients()
        let (loss, norm) = inProductPrecision { forwardBackward(inputs: x, targets: y, rows: rows) }
        guard loss.isFinite, norm.isFinite else { throw GPTError.nonFiniteLoss(step: step + 1) }
        lastLearningRate = currentLearningRate
        optimizer.settings.learningRate = lastLearningRate
        // Muon's rate follows the same schedule, scaled to its own peak.
        muon?.settings.learningRate = settings.muonLearningRate * lastLearningRate / settings.learningRate
        // Clipping (`clip_grad_norm_`) as a factor on the gradients the optimizer reads: no pass of its own.
        let maximumNorm = settings.gradientClip > 0 ? settings.gradientClip : .infinity
        let scale = clippingScale(norm: norm, maximumNorm: maximumNorm)
        optimizer.update(gradientScale: scale)
        muon?.update(gradientScale: scale)
        step += 1
        return loss
    }

    /// Forward and backward over one step's batch (`rows` sequences, all micro-batches), leaving the gradients in
    /// the parameters; returns the mean loss and the gradients' global L2 norm.
    func forwardBackward(inputs x: [Int], targets y: [Int], rows: Int) -> (loss: Float, norm: Float) {
        let micro = settings.gradientAccumulationSteps
        if dataParallelShards > 1, let gpt = model as? GPTLanguageModel {
            // Parts of at most a micro-batch's share per core, so the memory in flight does not grow with N.
            return shardedForwardBackward(gpt, inputs: x, targets: y, rows: rows,
                                          parts: min(rows, dataParallelShards * micro))
        }
        var total: Float = 0
        let span = settings.batchSize * settings.blockSize
        // Each micro-batch weighs by its share of the targets the loss counts (all of them for text: 1/N), so the
        // loss is the mean over the whole step's counted targets.
        let counted = (0..<micro).map { step in y[(step * span)..<((step + 1) * span)].filter { $0 >= 0 }.count }
        let allCounted = counted.reduce(0, +)
        for step in 0..<micro {
            let range = (step * span)..<((step + 1) * span)
            let weight = allCounted == 0 ? 1 / Float(micro) : Float(counted[step]) / Float(allCounted)
            let output = model.forward(Array(x[range]), batchSize: settings.batchSize, targets: Array(y[range]),
                                       training: true).loss!
            (micro == 1 ? output : output.scaled(by: weight)).backward()
            total += output.item * weight
        }
        return (total, gradientNorm(model.parameters))
    }

    /// Mean loss over random batches of each split (`iterations` of the training split, `validationIterations`
    /// of the validation split, by default the same), dropout off and no graph recorded. `progress` hears after
    /// each batch how many of all of them are done and returns `false` to stop: the result is then `nil`.
    public func estimateLoss(iterations: Int, validationIterations: Int? = nil,
                             progress: (_ done: Int, _ total: Int) -> Bool = { _, _ in true })
        -> (train: Float, validation: Float)?
    {
        inProductPrecision { withoutGradient {
            let counts = [(TextDataset.Split.train, iterations), (.validation, validationIterations ?? iterations)]
            let total = counts.reduce(0) { $0 + $1.1 }
            var means: [Float] = [], done = 0
            for (split, count) in counts {
                var sum = 0.0
                for _ in 0..<count {
                    let (x, y) = dataset.batch(split, batchSize: settings.batchSize, blockSize: settings.blockSize,
                                               generator: &generator)
                    sum += Double(model.forward(x, batchSize: settings.batchSize, targets: y).loss!.item)
                    done += 1
                    if !progress(done, total) { return nil }
                }
                means.append(Float(sum / Double(count)))
            }
            return (means[0], means[1])
        } }
    }

    /// Trains to `maxIterations`, reporting each step and evaluation, and calling `save` after each evaluation
    /// (with whether the validation loss is the best so far) and when stopped early by ``stopRequest``.
    /// Returns `false` when stopped early. A stop during an evaluation abandons it and saves the state from before
    /// it began, so the resumed run evaluates again and draws exactly the batches an uninterrupted run draws.
    @discardableResult
    public func run(report: (TrainingEvent) -> Void, save: (_ isBest: Bool) throws -> Void = { _ in }) throws -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        let firstStep = step
        /// Evaluates and saves; `false` when stopped part-way (the generator is then as it was before).
        func evaluate(iterations: Int, validationIterations: Int? = nil) throws -> Bool {
            let before = generator
            let losses = estimateLoss(iterations: iterations, validationIterations: validationIterations) { done, total in
                report(.evaluating(step: step, done: done, total: total))
                return !stopRequest.isSet
            }
            guard let losses else {
                generator = before
                try save(false)
                return false
            }
            evaluatedStep = step
            let isBest = losses.validation < bestValidationLoss
            if isBest { bestValidationLoss = losses.validation }
            report(.evaluation(step: step, trainLoss: losses.train, validationLoss: losses.validation))
            try save(isBest)
            if let target = settings.targetValidationLoss, losses.validation <= target, reachedTarget == nil {
                let tokens = step * settings.batchSize * settings.blockSize * settings.gradientAccumulationSteps
                reachedTarget = (step, losses.validation, (clock.now - start).seconds, tokens)
            }
            return true
        }
        while step < settings.maxIterations {
            if step % settings.evalInterval == 0 && step != evaluatedStep {
                guard try evaluate(iterations: settings.evalIterations) else { return false }
                if reachedTarget != nil { return true }  // a speedrun stops at its target
            }
            let loss = try trainStep()
            let elapsed = (clock.now - start).seconds
            let done = step - firstStep
            let tokensPerSecond = Double(done * settings.batchSize * settings.blockSize * settings.gradientAccumulationSteps)
                / max(elapsed, 1e-9)
            let secondsLeft = elapsed / Double(done) * Double(settings.maxIterations - step)
            report(.step(step: step, loss: loss, tokensPerSecond: tokensPerSecond, secondsLeft: secondsLeft))
            if stopRequest.isSet {
                try save(false)
                return false
            }
        }
        // The final validation loss averages more batches (the PyTorch reference's 200), the training loss the usual.
        if step != evaluatedStep {
            return try evaluate(iterations: settings.evalIterations, validationIterations: settings.finalEvalIterations)
        }
        return true
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
