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

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", step, evaluatedStep = "evaluated_step"
        case bestValidationLoss = "best_val_loss", learningRate = "learning_rate", batchGenerator = "batch_rng"
        case dropoutGenerator = "dropout_rng", settings, data, preset
    }
}

extension TrainingState {
    /// Reads `trainer.json` from a save directory (without loading its weights).
    public static func read(from directory: URL) throws -> TrainingState {
        try Checkpoint.decodeJSON(directory.appendingPathComponent(file))
    }
}

extension Trainer {
    /// The state to save now.
    public func state(data: String?, preset: String) -> TrainingState {
        TrainingState(
            step: step, evaluatedStep: evaluatedStep,
            bestValidationLoss: bestValidationLoss.isFinite ? bestValidationLoss : nil,
            learningRate: currentLearningRate, batchGenerator: generator,
            dropoutGenerator: (model as? GPTLanguageModel)?.dropoutGenerator, settings: settings, data: data, preset: preset)
    }

    /// Puts the trainer (and the model's dropout generator) back in a saved state.
    public func restore(_ state: TrainingState, optimizerTensors: StateDict, source: String) throws {
        step = state.step
        evaluatedStep = state.evaluatedStep
        bestValidationLoss = state.bestValidationLoss ?? .infinity
        generator = state.batchGenerator
        if let gpt = model as? GPTLanguageModel, let dropout = state.dropoutGenerator { gpt.dropoutGenerator = dropout }
        optimizer.step = state.step
        for (index, (name, parameter)) in model.namedParameters().enumerated() {
            for (prefix, buffers) in [("exp_avg", optimizer.firstMoments), ("exp_avg_sq", optimizer.secondMoments)] {
                guard let stored = optimizerTensors["\(prefix).\(name)"], stored.values.count == parameter.count else {
                    throw GPTError.invalidCheckpoint(path: source, reason: "optimizer state \(prefix).\(name) is missing or misshapen")
                }
                stored.values.withUnsafeBufferPointer { buffers[index].pointer.update(from: $0.baseAddress!, count: $0.count) }
            }
        }
    }

    /// AdamW's moments as named tensors.
    func optimizerTensors() -> [(name: String, tensor: Tensor)] {
        model.namedParameters().enumerated().flatMap { index, named in
            [("exp_avg.\(named.name)", Tensor(shape: named.tensor.shape, storage: optimizer.firstMoments[index])),
             ("exp_avg_sq.\(named.name)", Tensor(shape: named.tensor.shape, storage: optimizer.secondMoments[index]))]
        }
    }
}

/// A resumable save: a checkpoint plus `optimizer.safetensors` and `trainer.json`, written into a fresh directory
/// and swapped in by renames, so `directory` always holds one complete save, even after `kill -9`.
public enum TrainingCheckpoint {
    /// Saves `trainer`'s model, optimizer and state into `directory` (replacing what is there).
    public static func save(_ trainer: Trainer, tokenizer: Tokenizer, state: TrainingState, to directory: URL) throws {
        let parent = directory.deletingLastPathComponent(), name = directory.lastPathComponent
        let staging = parent.appendingPathComponent(".\(name).saving-\(UUID().uuidString)")
        let old = parent.appendingPathComponent("\(name).old")
        for parameter in trainer.model.parameters {
            let values = parameter.storage.pointer
            for i in 0..<parameter.count where !values[i].isFinite { throw GPTError.nonFiniteLoss(step: state.step) }
        }
        do {
            try Checkpoint(model: trainer.model, tokenizer: tokenizer).save(to: staging)
            try SafeTensors.write(trainer.optimizerTensors(), metadata: ["step": "\(state.step)"],
                                  to: staging.appendingPathComponent(TrainingState.optimizerFile))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeAtomically(try encoder.encode(state), to: staging.appendingPathComponent(TrainingState.file))
            let manager = FileManager.default
            try? manager.removeItem(at: old)
            if manager.fileExists(atPath: directory.path) { try manager.moveItem(at: directory, to: old) }
            try manager.moveItem(at: staging, to: directory)
            try? manager.removeItem(at: old)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            if let known = error as? GPTError { throw known }
            throw GPTError.unreadableFile(path: directory.path, reason: "could not save: \(error.localizedDescription)")
        }
    }

    /// The last complete save under `directory`: itself, its `latest/`, or the `.old` copy a save was swapping out.
    public static func locate(_ directory: URL) -> URL? {
        let manager = FileManager.default
        for candidate in [directory, directory.appendingPathComponent("latest"), directory.appendingPathComponent("latest.old")]
        where manager.fileExists(atPath: candidate.appendingPathComponent(TrainingState.file).path) {
            return candidate
        }
        return nil
    }

    /// Loads a resumable save: the checkpoint, the state and the optimizer tensors.
    public static func load(_ directory: URL) throws -> (checkpoint: Checkpoint, state: TrainingState, optimizer: StateDict) {
        guard let found = locate(directory) else {
            throw GPTError.invalidCheckpoint(path: directory.path, reason:
                "no resumable save here (a run directory written by `gpt train` holds latest/trainer.json)")
        }
        let checkpoint = try Checkpoint.load(from: found)
        let state = try TrainingState.read(from: found)
        let optimizer = try SafeTensors.read(found.appendingPathComponent(TrainingState.optimizerFile)).tensors
        return (checkpoint, state, optimizer)
    }
}
