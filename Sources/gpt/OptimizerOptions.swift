import ArgumentParser
import LanguageModels
import TensorModule

/// `gpt train`'s optimizer choice, speedrun target and product precision.
struct OptimizerOptions: ParsableArguments {
    @Option(help: "adamw (every parameter) or muon (the blocks' matrices; AdamW for embeddings, head and gains; default: the preset's).")
    var optimizer: String?
    @Option(parsing: .unconditional, help: "Muon's peak learning rate, on the same schedule as --learning-rate (default: the preset's; 0.02).")
    var muonLearningRate: Float?
    @Option(parsing: .unconditional, help: "Muon's momentum (default: 0.95).") var muonMomentum: Float?
    @Option(parsing: .unconditional, help: "Muon's decoupled weight decay (default: 0).") var muonWeightDecay: Float?
    @Flag(help: "Muon with Polar Express's per-step Newton-Schulz coefficients (docs/speedrun.md).")
    var muonPolarExpress = false
    @Option(parsing: .unconditional, help: "NorMuon: Muon's per-neuron second moment at this beta2, e.g. 0.95 (default: 0, off).")
    var muonBeta2: Float?
    @Flag(help: "Muon's weight decay only where the update and the weight share a sign (cautious weight decay).")
    var muonCautiousWeightDecay = false
    @Option(parsing: .unconditional, help: "A speedrun: stop at the first evaluation at or below this validation loss and print the wall time and tokens it took.")
    var targetValLoss: Float?
    @Option(name: .customLong("final-eval-iters"), parsing: .unconditional,
            help: "Validation batches of the final evaluation (default: the preset's; baby 200).")
    var finalEvalIterations: Int?
    @Option(help: "fp32, or bf16: matrix products on bfloat16 inputs summed in fp32, on AMX or AVX512-BF16 (fp32, with a notice, where the CPU has neither). Saved with the run. (q8 is for inference: refused here.)")
    var precision: MatrixPrecision?

    func apply(to options: inout TrainingRecipe.TrainingOptions) {
        (options.precision, options.optimizer, options.muonLearningRate) = (precision, optimizer, muonLearningRate)
        (options.muonMomentum, options.muonWeightDecay) = (muonMomentum, muonWeightDecay)
        (options.muonPolarExpress, options.muonBeta2) = (muonPolarExpress ? true : nil, muonBeta2)
        options.muonCautiousWeightDecay = muonCautiousWeightDecay ? true : nil
        (options.targetValLoss, options.finalEvalIters) = (targetValLoss, finalEvalIterations)
    }
}
