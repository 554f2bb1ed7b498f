/// A named starting point for a run (`gpt train --preset`): a model shape in one of the ``ModelLayout``s and its
/// training settings.
public struct TrainingPreset: Sendable {
    public let name: String
    public let summary: String
    /// The layout of the preset's GPT (`nil` for the bigram model).
    public let layout: ModelLayout?
    /// The model for a vocabulary of the given size.
    public let model: @Sendable (Int) -> ModelConfiguration
    public let training: TrainingSettings

    public static let all: [TrainingPreset] = [bigram, tiny, baby, lecture, modern, speedrun]

    /// The preset a run starts from when none is named.
    public static let defaultName = "baby"

    public static func named(_ name: String) throws -> TrainingPreset {
        guard let preset = all.first(where: { $0.name == name }) else {
            throw GPTError.invalidArgument(name: "--preset", reason:
                "unknown preset \(String(name.prefix(40)).debugDescription); choose one of \(all.map(\.name).joined(separator: ", "))")
        }
        return preset
    }

    /// A GPT of the given shape in `layout`.
    static func gpt(_ layout: ModelLayout, vocab: Int, block: Int, layers: Int, heads: Int, width: Int,
                    dropout: Float = 0) -> ModelConfiguration {
        var configuration = ModelConfiguration(modelType: .gpt, vocabSize: vocab, blockSize: block)
        (configuration.layerCount, configuration.headCount) = (layers, heads)
        (configuration.embeddingSize, configuration.dropout) = (width, dropout)
        layout.apply(to: &configuration)
        return configuration
    }

    /// A preset of a GPT in `layout`.
    static func gpt(_ name: String, _ summary: String, layout: ModelLayout, training: TrainingSettings,
                    block: Int, layers: Int, heads: Int, width: Int, dropout: Float = 0) -> TrainingPreset {
        TrainingPreset(name: name, summary: summary, layout: layout, model: {
            gpt(layout, vocab: $0, block: block, layers: layers, heads: heads, width: width, dropout: dropout)
        }, training: training)
    }

    /// The lecture's bigram.py: batch 32, block 8, 3000 iterations at 1e-2, evaluation every 300 over 200 batches.
    public static let bigram: TrainingPreset = {
        var s = TrainingSettings()
        (s.batchSize, s.blockSize, s.maxIterations, s.learningRate) = (32, 8, 3000, 1e-2)
        (s.evalInterval, s.evalIterations, s.finalEvalIterations) = (300, 200, 200)
        (s.warmupIterations, s.decayIterations, s.beta2, s.weightDecay) = (0, 0, 0.999, 0.01)
        (s.decayAllParameters, s.gradientClip) = (true, 0)
        return TrainingPreset(name: "bigram", summary: "the lecture's bigram.py", layout: nil,
                              model: { .bigram(vocabSize: $0, blockSize: 8) }, training: s)
    }()

    /// A small GPT in the lecture's layout: batch 16, block 32, 4 layers, 4 heads, 64 wide.
    public static let tiny: TrainingPreset = {
        var s = TrainingSettings()
        (s.batchSize, s.blockSize) = (16, 32)
        return gpt("tiny", "4 layers, 4 heads, 64 wide, block 32", layout: .lecture, training: s,
                   block: 32, layers: 4, heads: 4, width: 64)
    }()

    /// nanoGPT's CPU preset in nanoGPT's layout (exact GELU, tied head, biases): batch 12, block 64, 4 layers,
    /// 4 heads, 128 wide, 2000 iterations, 100 warm-up steps and cosine decay, beta2 0.99, weight decay 0.1 on
    /// matrices, clipping at 1.0; at twice nanoGPT's learning rate (2e-3 decaying to 2e-4): nanoGPT's 1e-3 ends at a
    /// validation loss of 1.885 in this layout (nanoGPT's README reports 1.88), 2e-3 at 1.783 (docs/training.md).
    public static let baby: TrainingPreset = {
        var s = TrainingSettings()
        (s.learningRate, s.minimumLearningRate) = (2e-3, 2e-4)
        return gpt("baby", "nanoGPT's CPU preset: 4 layers, 4 heads, 128 wide, block 64", layout: .nanoGPT, training: s,
                   block: 64, layers: 4, heads: 4, width: 128)
    }()

    /// The lecture's gpt.py in its layout: batch 64, block 256, 6 layers, 6 heads, 384 wide, dropout 0.2, 3e-4, 5000
    /// iterations.
    public static let lecture: TrainingPreset = {
        var s = TrainingSettings()
        (s.batchSize, s.blockSize, s.maxIterations, s.learningRate) = (64, 256, 5000, 3e-4)
        (s.evalInterval, s.evalIterations, s.warmupIterations, s.decayIterations) = (500, 200, 0, 0)
        (s.beta2, s.weightDecay, s.decayAllParameters, s.gradientClip) = (0.999, 0.01, true, 0)
        return gpt("lecture", "the lecture's gpt.py: 6 layers, 6 heads, 384 wide, block 256", layout: .lecture,
                   training: s, block: 256, layers: 6, heads: 6, width: 384, dropout: 0.2)
    }()

    /// The modern layout (nanochat's, the modded-nanogpt speedrun's) near baby's size, tuned on 2 cores for the
    /// shortest wall time to baby's validation loss (docs/speedrun.md); Muon for the blocks' matrices, AdamW for the
    /// rest.
    public static let modern: TrainingPreset = {
        var s = TrainingSettings()
        (s.batchSize, s.blockSize, s.maxIterations, s.learningRate, s.minimumLearningRate) = (32, 64, 300, 6e-3, 6e-4)
        (s.evalInterval, s.evalIterations, s.finalEvalIterations, s.warmupIterations, s.decayIterations) = (100, 10, 10, 50, 300)
        (s.optimizer, s.muonLearningRate, s.weightDecay) = ("muon", 0.05, 0)
        return gpt("modern", "nanochat's layout with Muon: 3 layers, 4 heads, 128 wide, block 64, batch 32",
                   layout: .modern, training: s, block: 64, layers: 3, heads: 4, width: 128)
    }()

    /// The lecture's result within the hour on 2 cores (docs/speedrun.md): the modern layout at the lecture's shape
    /// (6 layers, 6 heads, 384 wide, block 256, dropout 0.2) with `modern`'s optimizer (Muon 0.05 for the blocks'
    /// matrices, AdamW 6e-3 for the rest, 50 warm-up steps, cosine to a tenth over 1000 steps), batch 32, bfloat16
    /// products, an evaluation of 20 batches every 200 steps (`--target-val-loss 1.48` stops at the first at or below
    /// it; the figure that counts is `gpt eval` over the whole validation split).
    public static let speedrun: TrainingPreset = {
        var s = modern.training
        (s.batchSize, s.blockSize, s.maxIterations, s.decayIterations) = (32, 256, 1000, 1000)
        (s.evalInterval, s.evalIterations, s.finalEvalIterations) = (200, 20, 20)
        s.precision = .bfloat16
        return gpt("speedrun", "the lecture's 1.48 within the hour: the modern layout at the lecture's shape, Muon, bf16",
                   layout: .modern, training: s, block: 256, layers: 6, heads: 6, width: 384, dropout: 0.2)
    }()
}
