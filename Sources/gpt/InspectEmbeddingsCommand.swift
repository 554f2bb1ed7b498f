import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct InspectEmbeddings: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embeddings",
        abstract: "Nearest neighbours, analogies and a 2-D map (PCA) of the token embedding vectors.")

    @OptionGroup var model: CheckpointOptions
    @Option(help: "Tokens whose nearest neighbours to list (repeatable).") var token: [String] = []
    @Option(parsing: .upToNextOption, help: "Three tokens A B C: rank tokens near A - B + C (e.g. king man woman).")
    var analogy: [String] = []
    @Option(parsing: .unconditional, help: "Neighbours to list per token.") var neighbours = 6
    @Option(help: "Where to write the SVG map (default: embeddings.svg in the checkpoint's directory).") var out: String?
    @Option(help: "The text whose most frequent tokens the map names (default: the run's training corpus, if known).")
    var data: String?
    @Option(help: "The most tokens named on the map.") var labels = 100

    func run() throws {
        try reportingErrors {
            let loaded = try model.load()
            let analysis = EmbeddingAnalysis(model: loaded.model)
            let tokenizer = loaded.tokenizer
            func id(_ text: String) throws -> Int {
                let ids = try tokenizer.encode(text)
                guard ids.count == 1 else {
                    throw GPTError.invalidArgument(name: "--token", reason: "\(text.debugDescription) is \(ids.count) tokens, not one")
                }
                return ids[0]
            }
            func show(_ ranked: [(token: Int, similarity: Double)]) -> String {
                ranked.map { "\(visibleLabel(tokenizer.label($0.token))) \(String(format: "%.3f", $0.similarity))" }
                    .joined(separator: ", ")
            }
            for text in token {
                print("nearest to \(visibleLabel(text)): \(show(analysis.neighbours(of: try id(text), count: neighbours)))")
            }
            if !analogy.isEmpty {
                guard analogy.count == 3 else {
                    throw GPTError.invalidArgument(name: "--analogy", reason: "takes three tokens, got \(analogy.count)")
                }
                let ranked = analysis.analogy(try id(analogy[0]), minus: try id(analogy[1]), plus: try id(analogy[2]), count: neighbours)
                print("\(analogy[0]) - \(analogy[1]) + \(analogy[2]) ≈ \(show(ranked))")
            }
            guard labels >= 0 else { throw GPTError.invalidArgument(name: "--labels", reason: "must be 0 or more, got \(labels)") }
            let counts = try tokenCounts(tokenizer: tokenizer)
            let plot = analysis.map(tokenizer: tokenizer, counts: counts, maximumLabels: labels)
            let url = out.map { URL(fileURLWithPath: $0) } ?? model.url.appendingPathComponent("embeddings.svg")
            try writeAtomically(Data(plot.svg().utf8), to: url)
            print("wrote \(url.path)")
        }
    }
}

extension InspectEmbeddings {
    /// Token counts of `--data`, else of the corpus the run recorded in its `trainer.json` when it can still be read;
    /// nil when neither is known.
    func tokenCounts(tokenizer: Tokenizer) throws -> [Int]? {
        if let data { return try EmbeddingAnalysis.counts(in: try Corpus(data), tokenizer: tokenizer) }
        guard let save = TrainingCheckpoint.locate(model.url),
              let state = try? TrainingState.read(from: save), let corpus = try? Corpus(state.data),
              let counts = try? EmbeddingAnalysis.counts(in: corpus, tokenizer: tokenizer) else { return nil }
        print("named: the most frequent tokens of \(corpus.description)")
        return counts
    }
}
