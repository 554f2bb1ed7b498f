import Foundation

/// A run's record on disk: `log.jsonl` (one JSON object per step and per evaluation) and `loss.svg` (training loss
/// and evaluated train/val losses against the step), both rewritten atomically at each evaluation.
public final class TrainingLog {
    public struct Entry: Codable, Equatable {
        public var step: Int
        public var loss: Float?
        public var learningRate: Float?
        public var tokensPerSecond: Double?
        public var trainLoss: Float?
        public var validationLoss: Float?

        enum CodingKeys: String, CodingKey {
            case step, loss, learningRate = "lr", tokensPerSecond = "tokens_per_s", trainLoss = "train_loss"
            case validationLoss = "val_loss"
        }
    }

    public let directory: URL
    public private(set) var entries: [Entry] = []

    /// Starts a log in `directory`, continuing `previous` entries (a resumed run).
    public init(directory: URL, previous: [Entry] = []) {
        self.directory = directory
        entries = previous
    }

    /// Reads the entries of an existing `log.jsonl` (empty when there is none).
    public static func entries(in directory: URL) -> [Entry] {
        guard let text = try? String(contentsOf: directory.appendingPathComponent("log.jsonl"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Entry.self, from: Data($0.utf8)) }
    }

    public func record(_ event: TrainingEvent, learningRate: Float) {
        switch event {
        case .step(let step, let loss, let rate, _):
            entries.append(Entry(step: step, loss: loss, learningRate: learningRate, tokensPerSecond: rate))
        case .evaluation(let step, let train, let validation):
            entries.append(Entry(step: step, trainLoss: train, validationLoss: validation))
        case .evaluating: break
        }
    }

    /// Writes `log.jsonl` and `loss.svg`.
    public func write() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var lines = Data()
        for entry in entries {
            lines.append(try encoder.encode(entry))
            lines.append(0x0A)
        }
        try writeAtomically(lines, to: directory.appendingPathComponent("log.jsonl"))
        try writeAtomically(Data(lossChart().svg().utf8), to: directory.appendingPathComponent("loss.svg"))
    }

    /// Step losses (thin), evaluated train and validation losses (thick).
    public func lossChart() -> LineChart {
        let steps = entries.compactMap { e in e.loss.map { (x: Double(e.step), y: Double($0)) } }
        let train = entries.compactMap { e in e.trainLoss.map { (x: Double(e.step), y: Double($0)) } }
        let validation = entries.compactMap { e in e.validationLoss.map { (x: Double(e.step), y: Double($0)) } }
        return LineChart(title: "Loss", xLabel: "step", yLabel: "cross-entropy loss (nats per token)", series: [
            .init(name: "batch loss", color: "#b8c7e0", points: steps, width: 1),
            .init(name: "train loss (evaluations)", color: "#1f5fbf", points: train, width: 1.5, markers: true),
            .init(name: "val loss (evaluations)", color: "#d9541e", points: validation, width: 1.5, markers: true),
        ])
    }
}
