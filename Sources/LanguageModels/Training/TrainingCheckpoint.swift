import Foundation
import NN
import TensorModule

/// A resumable save: a checkpoint plus `optimizer.safetensors` and `trainer.json`, written into a fresh staging
/// directory and swapped in by renames, so that at every moment of a save, and after any number of kills, one
/// complete save is on disk where ``locate(_:)`` finds it.
///
/// The sequence for `latest` (likewise `best`):
/// 1. write `.latest.saving-<id>/` file by file, `trainer.json` last (a staging directory with it is complete);
/// 2. if `latest/` exists: remove `latest.old/`, then rename `latest/` to `latest.old/`;
/// 3. rename the staging directory to `latest/`;
/// 4. remove `latest.old/`.
/// `latest.old/` is only removed while `latest/` exists, so a save that follows a killed one never deletes the only
/// complete copy. ``recover(_:)`` tidies up at the next start.
public enum TrainingCheckpoint {
    /// Saves `trainer`'s model, optimizer and state into `directory` (replacing what is there), with the
    /// ``Checkpoint/companionFiles`` of the model it started from.
    public static func save(_ trainer: Trainer, tokenizer: Tokenizer, state: TrainingState, to directory: URL,
                            companionFiles: [String: Data] = [:]) throws {
        var steps = SaveSequence()
        try save(trainer, tokenizer: tokenizer, state: state, to: directory, companionFiles: companionFiles, steps: &steps)
    }

    static func save(_ trainer: Trainer, tokenizer: Tokenizer, state: TrainingState, to directory: URL,
                     companionFiles: [String: Data] = [:], steps: inout SaveSequence) throws {
        let parent = directory.deletingLastPathComponent(), name = directory.lastPathComponent
        let staging = parent.appendingPathComponent(".\(name)\(SaveSequence.stagingMarker)\(UUID().uuidString)")
        let old = parent.appendingPathComponent("\(name).old")
        for parameter in trainer.model.parameters {
            let values = parameter.storage.pointer
            for i in 0..<parameter.count where !values[i].isFinite { throw GPTError.nonFiniteLoss(step: state.step) }
        }
        try SaveSequence.writing(staging, for: directory) {
            var checkpoint = Checkpoint(model: trainer.model, tokenizer: tokenizer)
            checkpoint.companionFiles = companionFiles
            try checkpoint.writeFiles(into: staging, steps: &steps)
            try steps.step {
                try SafeTensors.write(trainer.optimizerTensors(), metadata: ["step": "\(state.step)"],
                                      to: staging.appendingPathComponent(TrainingState.optimizerFile))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let stateData = try encoder.encode(state)
            try steps.step { try writeAtomically(stateData, to: staging.appendingPathComponent(TrainingState.file)) }
            try steps.swap(staging, into: directory, old: old)
        }
    }

    /// The last complete save under `directory`: itself, its `latest/`, the `.old` copy a save was swapping out,
    /// or a finished staging directory of a save killed before its renames.
    public static func locate(_ directory: URL) -> URL? {
        let manager = FileManager.default
        let candidates = [directory, directory.appendingPathComponent("latest"), directory.appendingPathComponent("latest.old")]
            + completeStagingDirectories(named: "latest", in: directory)
        return candidates.first { manager.fileExists(atPath: $0.appendingPathComponent(TrainingState.file).path) }
    }

    /// Puts a run directory in order after a kill: a missing `latest/` or `best/` is restored from its `.old` copy
    /// or its newest finished staging directory, and every leftover `.old` copy and staging directory is removed.
    public static func recover(_ directory: URL) {
        let manager = FileManager.default
        for name in ["latest", "best"] {
            let target = directory.appendingPathComponent(name), old = directory.appendingPathComponent("\(name).old")
            let complete = { (url: URL) in manager.fileExists(atPath: url.appendingPathComponent(TrainingState.file).path) }
            if !complete(target) {
                if complete(old) {
                    try? manager.removeItem(at: target)
                    try? manager.moveItem(at: old, to: target)
                } else if let staged = completeStagingDirectories(named: name, in: directory).first {
                    try? manager.removeItem(at: target)
                    try? manager.moveItem(at: staged, to: target)
                }
            }
            if complete(target) { try? manager.removeItem(at: old) }
        }
        for leftover in SaveSequence.stagingDirectories(in: directory) { try? manager.removeItem(at: leftover) }
        // Half-written files of a killed `writeAtomically` (`.<name>.tmp-<id>`).
        for entry in (try? manager.contentsOfDirectory(atPath: directory.path)) ?? [] where entry.hasPrefix(".") && entry.contains(".tmp-") {
            try? manager.removeItem(at: directory.appendingPathComponent(entry))
        }
    }

    /// The files and folders a run directory holds (`gpt train` writes them), present in `directory`.
    public static func runFiles(in directory: URL) -> [String] {
        let names = [Checkpoint.weightsFile, Checkpoint.configurationFile, Checkpoint.tokenizerFile, "latest", "best",
                     "latest.old", "best.old", "log.jsonl", "loss.svg"]
        return names.filter { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
    }

    /// Deletes a run from `directory` (``runFiles(in:)`` and any staging directory), for `--overwrite`.
    public static func discardRun(in directory: URL) {
        let manager = FileManager.default
        for name in runFiles(in: directory) { try? manager.removeItem(at: directory.appendingPathComponent(name)) }
        for leftover in SaveSequence.stagingDirectories(in: directory) { try? manager.removeItem(at: leftover) }
    }

    /// Finished staging directories of saves of `name` (holding `trainer.json`), newest first.
    static func completeStagingDirectories(named name: String, in directory: URL) -> [URL] {
        let manager = FileManager.default
        return SaveSequence.stagingDirectories(in: directory, named: name)
            .filter { manager.fileExists(atPath: $0.appendingPathComponent(TrainingState.file).path) }
            .map { url in (url, (try? manager.attributesOfItem(atPath: url.appendingPathComponent(TrainingState.file).path))?[.modificationDate] as? Date ?? .distantPast) }
            .sorted { $0.1 > $1.1 }
            .map(\.0)
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

/// The file-system steps of a save, counted so that a test can stop a save before any one of them, leaving the
/// disk as a `kill -9` at that moment would.
struct SaveSequence {
    /// Staging directories are named `.<name>.saving-<id>`.
    static let stagingMarker = ".saving-"

    /// Stop before the step with this index (0-based); `nil`: run every step.
    var stop: Int?
    private(set) var count = 0

    init(stoppingBefore stop: Int? = nil) { self.stop = stop }

    mutating func step(_ body: () throws -> Void) throws {
        if count == stop { throw SaveInterrupted() }
        count += 1
        try body()
    }

    /// Runs `body`, which writes `staging` and swaps it in as `directory`. An error removes the staging directory
    /// and is reported as a ``GPTError`` naming `directory`; a simulated kill leaves the disk exactly as it is.
    static func writing(_ staging: URL, for directory: URL, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch is SaveInterrupted {
            throw SaveInterrupted()
        } catch {
            try? FileManager.default.removeItem(at: staging)
            if let known = error as? GPTError { throw known }
            throw GPTError.unwritableFile(path: directory.path, reason: error.localizedDescription)
        }
    }

    /// Puts the finished `staging` directory in the place of `directory`, in steps: if `directory` exists, remove
    /// `old` (a leftover) and rename `directory` to `old`; rename `staging` to `directory`; run `carryOver(old)`
    /// (what the old copy holds that the new one must keep) if there was an old copy; remove `old`. At every step a
    /// complete copy is on disk: `directory`, or `old` and `staging` between the two renames.
    mutating func swap(_ staging: URL, into directory: URL, old: URL,
                       carryingOver carryOver: (URL, inout SaveSequence) throws -> Void = { _, _ in }) throws {
        let manager = FileManager.default
        let existed = manager.fileExists(atPath: directory.path)
        if existed {
            try step { try? manager.removeItem(at: old) }
            try step { try manager.moveItem(at: directory, to: old) }
        }
        try step { try manager.moveItem(at: staging, to: directory) }
        if existed { try carryOver(old, &self) }
        try step { try? manager.removeItem(at: old) }
    }

    /// The hidden staging directories in `directory` (of saves of `name`, or of any save).
    static func stagingDirectories(in directory: URL, named name: String? = nil) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { entry in
            guard entry.hasPrefix("."), let range = entry.range(of: stagingMarker) else { return false }
            return name.map { String(entry[entry.index(after: entry.startIndex)..<range.lowerBound]) == $0 } ?? true
        }.map { directory.appendingPathComponent($0) }
    }
}

/// A save stopped by ``SaveSequence`` (a test's stand-in for a kill).
struct SaveInterrupted: Error {}
