import ArgumentParser
import LanguageModels

extension ModelLayout: ExpressibleByArgument {}
extension ModelConfiguration.Activation: ExpressibleByArgument {}
extension ModelConfiguration.PositionEncoding: ExpressibleByArgument {}
extension ModelConfiguration.Norm: ExpressibleByArgument {}

/// `gpt train`'s model shape: the preset's unless given.
struct ModelShapeOptions: ParsableArguments {
    @Option(help: "lecture (ReLU, untied head with a bias), nanogpt (exact GELU, tied head; baby's) or modern (nanochat's) (default: the preset's).")
    var layout: ModelLayout?
    @Option(parsing: .unconditional, help: "Transformer blocks (default: the preset's; baby 4).") var layers: Int?
    @Option(parsing: .unconditional, help: "Attention heads per block (default: the preset's; baby 4).") var heads: Int?
    @Option(parsing: .unconditional, help: "Width of the embeddings (default: the preset's; baby 128).")
    var embeddingSize: Int?
    @Option(parsing: .unconditional, help: "Dropout probability while training (default: the preset's; baby 0).")
    var dropout: Float?
    @Option(help: "relu (the lecture), gelu (exact, nanoGPT), gelu_tanh (GPT-2's tanh approximation) or relu2 (default: the layout's).")
    var activation: ModelConfiguration.Activation?
    @Flag(help: "Tie the lm head to the token embedding table (nanoGPT, GPT-2).") var tieWeights = false
    @Option(help: "Biases in the linear layers and layer norms (nanoGPT's bias; default: the layout's).") var bias: Bool?

    func apply(to options: inout TrainingRecipe.ModelOptions) {
        (options.layout, options.layers, options.heads, options.embeddingSize) = (layout, layers, heads, embeddingSize)
        (options.dropout, options.activation, options.bias) = (dropout, activation, bias)
        options.tieWeights = tieWeights ? true : nil
    }
}

/// `gpt train`'s batches, learning-rate schedule and evaluations: the preset's unless given.
struct ScheduleOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Sequences per step (default: the preset's; baby 12).") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Tokens of context per sequence (default: the preset's; baby 64).")
    var blockSize: Int?
    @Option(parsing: .unconditional, help: "Micro-batches summed per optimizer step (nanoGPT's; default: 1).")
    var gradientAccumulationSteps: Int?
    @Option(parsing: .unconditional, help: "Peak AdamW learning rate (default: the preset's; baby 2e-3).") var learningRate: Float?
    @Option(parsing: .unconditional, help: "Linear warm-up steps of the learning rate (default: baby 100).") var warmupIters: Int?
    @Option(name: .customLong("lr-decay-iters"), parsing: .unconditional,
            help: "Steps of the cosine decay to --min-lr (default: --max-iters for baby; 0: constant).") var decayIters: Int?
    @Option(parsing: .unconditional, help: "The learning rate at the end of the decay (default: baby 2e-4).") var minLr: Float?
    @Option(help: "true: cosine decay after the warm-up; false: a constant learning rate (default: the preset's).")
    var decayLr: Bool?
    @Option(parsing: .unconditional, help: "AdamW weight decay (default: the preset's; baby 0.1).") var weightDecay: Float?
    @Option(parsing: .unconditional, help: "AdamW beta1 (default: 0.9).") var beta1: Float?
    @Option(parsing: .unconditional, help: "AdamW beta2 (default: the preset's; baby 0.99).") var beta2: Float?
    @Option(parsing: .unconditional, help: "Clip the gradient norm at this value; 0: no clipping (default: baby 1.0).")
    var gradClip: Float?
    @Option(parsing: .unconditional, help: "Steps between evaluations and saves (default: the preset's; baby 250).")
    var evalInterval: Int?
    @Option(name: .customLong("eval-iters"), parsing: .unconditional,
            help: "Batches of each split per evaluation, and at most that for the final one (default: the preset's; baby 20).")
    var evalIterations: Int?
    @Option(parsing: .unconditional, help: "Seed of the initial weights, batches and dropout (default: 1337).") var seed: UInt64?

    func apply(to options: inout TrainingRecipe.TrainingOptions) {
        (options.batchSize, options.blockSize, options.gradientAccumulationSteps) = (batchSize, blockSize, gradientAccumulationSteps)
        (options.learningRate, options.warmupIters, options.lrDecayIters) = (learningRate, warmupIters, decayIters)
        (options.minLr, options.decayLr, options.weightDecay) = (minLr, decayLr, weightDecay)
        (options.beta1, options.beta2, options.gradClip) = (beta1, beta2, gradClip)
        (options.evalInterval, options.evalIters, options.seed) = (evalInterval, evalIterations, seed)
    }
}
