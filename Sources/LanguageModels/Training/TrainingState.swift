import Foundation
import NN
import TensorModule

/// Everything besides the weights that a run needs to continue exactly where it stopped: saved as `trainer.json`
/// next to `optimizer.safetensors` (AdamW's moments by parameter name) in a checkpoint directory.
public struct TrainingState: Codable, Equatable {
    public static let file = "trainer.json"
    public static let optimizerFile = "optimizer.safetensors"

    public var formatVersion = 1
    public var step: Int
    public var evaluatedStep: Int
    public var bestValidationLoss: Float?
    public var learningRate: Float
    /// The batch sampler's generator and, for a GPT, the dropout generator.
    public var batchGenerator: SeededGenerator
    public var dropoutGenerator: SeededGenerator?
    public var settings: TrainingSettings
    /// The corpus the run trains on (`nil`: the bundled tiny shakespeare) and the preset it started from.
    public var data: String?
    public var preset: String
    /// Whether text outside the vocabulary is left out of the corpus (a fine-tune's `skipUnknown`).
    public var skipsUnknown: Bool?
    /// The share of a fine-tune's conversations held out (``TrainingRecipe/DataOptions/valFraction``).
    public var validationFraction: Double?

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", step, evaluatedStep = "evaluated_step"
        case bestValidationLoss = "best_val_loss", learningRate = "learning_rate", batchGenerator = "batch_rng"
        case dropoutGenerator = "dropout_rng", settings, data, preset, skipsUnknown = "skip_unknown"
        case validationFraction = "val_fraction"
    }
}

extension TrainingState {
    /// Reads `trainer.json` from a save directory (without loading its weights) and validates every field.
    public static func read(from directory: URL) throws -> TrainingState {
        let url = directory.appendingPathComponent(file)
        let state: TrainingState = try Checkpoint.decodeJSON(url)
        try state.validate(source: url.path)
        return state
    }

    /// Throws naming the first field that cannot be resumed: settings out of their bounds, steps out of order,
    /// a learning rate or loss that is not finite, a random generator stuck at zero.
    public func validate(source: String) throws {
        func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: source, reason: reason) }
        do { try settings.validate() } catch GPTError.invalidArgument(let name, let reason) {
            throw fail("settings: \(name.hasPrefix("--") ? String(name.dropFirst(2)) : name) \(reason)")
        }
        guard (0...TrainingSettings.maximumIterations).contains(step) else { throw fail("step must be in 0...\(TrainingSettings.maximumIterations), got \(step)") }
        guard (-1...step).contains(evaluatedStep) else { throw fail("evaluated_step must be in -1...\(step), got \(evaluatedStep)") }
        guard learningRate.isFinite else { throw fail("learning_rate must be finite") }
        if let bestValidationLoss, !bestValidationLoss.isFinite { throw fail("best_val_loss must be finite") }
        for (name, generator) in [("batch_rng", batchGenerator), ("dropout_rng", dropoutGenerator)] {
            if let generator, generator.state.allSatisfy({ $0 == 0 }) {
                throw fail("\(name) is all zeros, a state xoshiro256** never leaves; the file is damaged")
            }
        }
        if let data, data.utf8.count > 4096 { throw fail("data is longer than a path can be") }
        if let validationFraction, !(0..<1).contains(validationFraction) { throw fail("val_fraction must be in 0..<1") }
    }
}

extension Trainer {
    /// The state to save now.
    public func state(data: String?, preset: String, skipsUnknown: Bool? = nil, validationFraction: Double? = nil)
        -> TrainingState {
        TrainingState(
            step: step, evaluatedStep: evaluatedStep,
            bestValidationLoss: bestValidationLoss.isFinite ? bestValidationLoss : nil,
            learningRate: currentLearningRate, batchGenerator: generator,
            dropoutGenerator: (model as? GPTLanguageModel)?.dropoutGenerator, settings: settings, data: data, preset: preset,
            skipsUnknown: skipsUnknown, validationFraction: validationFraction)
    }

    /// Puts the trainer (and the model's dropout generator) back in a saved state.
    public func restore(_ state: TrainingState, optimizerTensors: StateDict, source: String) throws {
        step = state.step
        evaluatedStep = state.evaluatedStep
        bestValidationLoss = state.bestValidationLoss ?? .infinity
        generator = state.batchGenerator
        if let gpt = model as? GPTLanguageModel, let dropout = state.dropoutGenerator { gpt.dropoutGenerator = dropout }
        optimizer.step = state.step
        muon?.step = state.step
        func load(_ name: String, into buffer: TensorStorage) throws {
            guard let stored = optimizerTensors[name], stored.values.count == buffer.count else {
                throw GPTError.invalidCheckpoint(path: source, reason: "optimizer state \(name.prefix(200)) is missing or misshapen")
            }
            try requireFinite(stored.values, name: name, source: source)
            stored.values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
        for (index, name) in adamWNames.enumerated() {
            try load("exp_avg.\(name)", into: optimizer.firstMoments[index])
            try load("exp_avg_sq.\(name)", into: optimizer.secondMoments[index])
        }
        for (index, name) in muonNames.enumerated() {
            try load("momentum_buffer.\(name)", into: muon!.momentumBuffers[index])
            if settings.muonBeta2 > 0 { try load("second_momentum_buffer.\(name)", into: muon!.secondMomentBuffers[index]) }
        }
    }

    /// The optimizers' state as named tensors: AdamW's moments (`exp_avg.NAME`, `exp_avg_sq.NAME`) and Muon's
    /// momentum (`momentum_buffer.NAME`), PyTorch's names, and NorMuon's second moment (`second_momentum_buffer.NAME`,
    /// the speedruns' name) when it is on.
    func optimizerTensors() -> [(name: String, tensor: Tensor)] {
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor.shape) })
        let adamW = adamWNames.enumerated().flatMap { index, name in
            [("exp_avg.\(name)", Tensor(shape: shapes[name]!, storage: optimizer.firstMoments[index])),
             ("exp_avg_sq.\(name)", Tensor(shape: shapes[name]!, storage: optimizer.secondMoments[index]))]
        }
        return adamW + muonNames.enumerated().flatMap { index, name in
            let momentum = ("momentum_buffer.\(name)", Tensor(shape: shapes[name]!, storage: muon!.momentumBuffers[index]))
            let second = muon!.secondMomentBuffers[index]
            return settings.muonBeta2 > 0
                ? [momentum, ("second_momentum_buffer.\(name)", Tensor(shape: [second.count], storage: second))] : [momentum]
        }
    }
}
