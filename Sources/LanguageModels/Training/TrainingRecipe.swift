/// What a run trains: a preset plus the options given over it. Each option is `nil` until given; its name is the
/// command line's option (`embeddingSize` is `--embedding-size`), so a refusal names what the user typed.
///
/// What a resumed or fine-tuned run refuses is computed from the options given, not listed: a resume keeps
/// everything but `maxIters`; a fine-tune keeps the model's shape and tokenizer (``TrainingRun``).
///
/// ```swift
/// var recipe = TrainingRecipe(preset: "baby")
/// recipe.training.maxIters = 500
/// recipe.model.layout = .lecture
/// let run = try TrainingRun.start(recipe, in: URL(fileURLWithPath: "runs/mine"))
/// ```
public struct TrainingRecipe: Sendable, Equatable {
    /// The preset's name (`nil`: ``TrainingPreset/defaultName``).
    public var preset: String?
    public var model = ModelOptions()
    public var training = TrainingOptions()
    public var data = DataOptions()

    public init(preset: String? = nil) { self.preset = preset }

    /// Options of the model built for a new run.
    public struct ModelOptions: Sendable, Equatable {
        public var layout: ModelLayout?
        public var layers: Int?
        public var heads: Int?
        public var embeddingSize: Int?
        /// Dropout while training: the one model option a fine-tune may change.
        public var dropout: Float?
        public var activation: ModelConfiguration.Activation?
        public var tieWeights: Bool?
        public var bias: Bool?
        public var positionEncoding: ModelConfiguration.PositionEncoding?
        public var ropeTheta: Float?
        public var norm: ModelConfiguration.Norm?
        public var normAffine: Bool?
        public var normEps: Float?
        public var qkNorm: Bool?
        public var kvHeads: Int?
        public var embeddingNorm: Bool?
        public var logitSoftcap: Float?
        public var zeroInitProjections: Bool?
        /// ``ModelConfiguration/gatedFeedForward`` (`--gated-mlp`).
        public var gatedMlp: Bool?
        /// ``ModelConfiguration/feedForwardSize`` (`--n-inner`).
        public var nInner: Int?
        /// ``ModelConfiguration/headDimension`` (`--head-dim`).
        public var headDim: Int?
        /// ``ModelConfiguration/qkNormAffine`` (`--qk-norm-gains`).
        public var qkNormGains: Bool?
        public init() {}
    }

    /// Options of the optimizer, schedule, batches and evaluations (``TrainingSettings``).
    public struct TrainingOptions: Sendable, Equatable {
        public var maxIters: Int?
        public var batchSize: Int?
        public var blockSize: Int?
        public var learningRate: Float?
        public var evalInterval: Int?
        public var evalIters: Int?
        public var finalEvalIters: Int?
        public var seed: UInt64?
        public var gradientAccumulationSteps: Int?
        public var weightDecay: Float?
        public var beta1: Float?
        public var beta2: Float?
        public var gradClip: Float?
        public var warmupIters: Int?
        public var lrDecayIters: Int?
        public var minLr: Float?
        public var decayLr: Bool?
        public var optimizer: String?
        public var muonLearningRate: Float?
        public var muonMomentum: Float?
        public var muonWeightDecay: Float?
        public var muonPolarExpress: Bool?
        public var muonBeta2: Float?
        public var muonCautiousWeightDecay: Bool?
        public var targetValLoss: Float?
        public var precision: MatrixPrecision?
        public init() {}
    }

    /// Where the text comes from and how a new run tokenizes it.
    public struct DataOptions: Sendable, Equatable {
        /// A text file, a folder of `.txt` files or a prepared folder (`nil`: the bundled tiny shakespeare).
        public var data: String?
        /// `char`, `word` or `bpe` (a new run's; `nil`: `char`).
        public var tokenizer: String?
        /// A `bpe` tokenizer's vocabulary size (`nil`: 512).
        public var vocabSize: Int?
        /// Leave out text the model's tokenizer cannot encode (a fine-tune), instead of refusing it.
        public var skipUnknown: Bool?
        /// The share of a fine-tune's conversations held out for evaluation, the last ones (`nil`: 0.1).
        public var valFraction: Double?
        public init() {}
    }

    /// The options given, by name, in the order the recipe declares them.
    public var givenOptions: [String] {
        (preset == nil ? [] : ["preset"]) + Self.given(model) + Self.given(training) + Self.given(data)
    }

    /// The command line's spelling of an option: `embeddingSize` is `--embedding-size`.
    public static func flag(_ option: String) -> String {
        "--" + option.unicodeScalars.map { $0.properties.isUppercase ? "-" + $0.properties.lowercaseMapping : String($0) }.joined()
    }

    /// The names of the non-`nil` stored properties of `options`.
    static func given(_ options: Any) -> [String] {
        Mirror(reflecting: options).children.compactMap { child in
            let value = Mirror(reflecting: child.value)
            return value.displayStyle == .optional && value.children.isEmpty ? nil : child.label
        }
    }

    // MARK: - Building

    /// The preset named, or the default one.
    public func resolvedPreset() throws -> TrainingPreset { try TrainingPreset.named(preset ?? TrainingPreset.defaultName) }

    /// `base` with the training options given (the schedule follows `maxIters` where the preset decays over its
    /// run; `evalIters` alone also sets the final evaluation's batches), validated.
    public func settings(from base: TrainingSettings) throws -> TrainingSettings {
        var s = base, o = training
        if let v = o.maxIters { s.maxIterations = v; if base.decayIterations > 0 { s.decayIterations = v } }
        if let v = o.batchSize { s.batchSize = v }
        if let v = o.blockSize { s.blockSize = v }
        if let v = o.learningRate { s.learningRate = v }
        if let v = o.evalInterval { s.evalInterval = v }
        if let v = o.evalIters { (s.evalIterations, s.finalEvalIterations) = (v, min(v, s.finalEvalIterations)) }
        if let v = o.finalEvalIters { s.finalEvalIterations = v }
        if let v = o.seed { s.seed = v }
        if let v = o.gradientAccumulationSteps { s.gradientAccumulationSteps = v }
        if let v = o.weightDecay { s.weightDecay = v }
        if let v = o.beta1 { s.beta1 = v }
        if let v = o.beta2 { s.beta2 = v }
        if let v = o.gradClip { s.gradientClip = v }
        if let v = o.warmupIters { s.warmupIterations = v }
        if let v = o.lrDecayIters { s.decayIterations = v }
        if let v = o.minLr { s.minimumLearningRate = v }
        if o.decayLr == false { s.decayIterations = 0 }
        if o.decayLr == true && s.decayIterations == 0 { s.decayIterations = s.maxIterations }
        if let v = o.optimizer { s.optimizer = v.lowercased() }
        if let v = o.muonLearningRate { s.muonLearningRate = v }
        if let v = o.muonMomentum { s.muonMomentum = v }
        if let v = o.muonWeightDecay { s.muonWeightDecay = v }
        if let v = o.muonPolarExpress { s.muonPolarExpress = v }
        if let v = o.muonBeta2 { s.muonBeta2 = v }
        if let v = o.muonCautiousWeightDecay { s.muonCautiousWeightDecay = v }
        if let v = o.targetValLoss { s.targetValidationLoss = v }
        if let v = o.precision { s.precision = v }
        try s.validate()
        return s
    }

    /// The model options given, applied over `base` (the layout first, then each option).
    public func apply(to base: ModelConfiguration) -> ModelConfiguration {
        var c = base, o = model
        o.layout?.apply(to: &c)
        if let v = o.layers { c.layerCount = v }
        if let v = o.heads { c.headCount = v }
        if let v = o.embeddingSize { c.embeddingSize = v }
        if let v = o.dropout { c.dropout = v }
        if let v = o.activation { c.activation = v }
        if let v = o.tieWeights { c.tiedEmbeddings = v }
        if let v = o.bias {
            c.bias = v
            if ModelLayout.of(base) == .nanoGPT || o.layout == .nanoGPT { c.attentionBias = v }  // one flag in nanoGPT
        }
        if let v = o.positionEncoding { c.positionEncoding = v }
        if let v = o.ropeTheta { c.ropeTheta = v }
        if let v = o.norm { c.norm = v }
        if let v = o.normAffine { c.normAffine = v }
        if let v = o.normEps { c.normEpsilon = v }
        if let v = o.qkNorm { c.qkNorm = v }
        if let v = o.kvHeads { c.keyValueHeadCount = v }
        if let v = o.embeddingNorm { c.embeddingNorm = v }
        if let v = o.logitSoftcap { c.logitSoftcap = v }
        if let v = o.zeroInitProjections { c.zeroInitProjections = v }
        if let v = o.gatedMlp { c.gatedFeedForward = v }
        if let v = o.nInner { c.feedForwardSize = v }
        if let v = o.headDim { c.headDimension = v }
        if let v = o.qkNormGains { c.qkNormAffine = v }
        return c
    }
}
