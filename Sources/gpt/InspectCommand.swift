import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show what a trained model learned, as text and SVG pictures.",
        subcommands: [InspectEmbeddings.self, InspectAttention.self])
}

struct InspectEmbeddings: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embeddings",
        abstract: "Nearest neighbours, analogies and a 2-D map (PCA) of the token embedding vectors.")

    @Option(help: "A directory written by `gpt train`.") var checkpoint: String
    @Option(help: "Tokens whose nearest neighbours to list (repeatable).") var token: [String] = []
    @Option(parsing: .upToNextOption, help: "Three tokens A B C: rank tokens near A - B + C (e.g. king man woman).")
    var analogy: [String] = []
    @Option(parsing: .unconditional, help: "Neighbours to list per token.") var neighbours = 6
    @Option(help: "Where to write the SVG map (default: embeddings.svg in the checkpoint's directory).") var out: String?

    func run() throws {
        try reportingErrors {
            let loaded = try Checkpoint.load(from: URL(fileURLWithPath: checkpoint))
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
            let projected = analysis.principalComponents()
            let plot = ScatterPlot(
                title: "Token embeddings (\(analysis.vectors.count) tokens, \(analysis.vectors.first?.count ?? 0)-D, first two principal components)",
                xLabel: "principal component 1", yLabel: "principal component 2",
                points: projected.enumerated().map { ($0.element.x, $0.element.y, tokenizer.label($0.offset)) })
            let url = out.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: checkpoint).appendingPathComponent("embeddings.svg")
            try writeAtomically(Data(plot.svg().utf8), to: url)
            print("wrote \(url.path)")
        }
    }
}

struct InspectAttention: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Attention weights of every head on a prompt (SVG heatmaps) and the next-token probabilities.")

    @Option(help: "A directory written by `gpt train` (a GPT).") var checkpoint: String
    @Option(help: "The text whose attention to show (cropped to the block size).") var prompt: String
    @Option(help: "Where to write the heatmaps (default: attention.svg in the checkpoint's directory).") var out: String?
    @Option(help: "Where to write the next-token bar chart (default: next-token.svg in the checkpoint's directory).")
    var probabilitiesOut: String?
    @Option(parsing: .unconditional, help: "Most likely next tokens to chart.") var top = 15

    func run() throws {
        try reportingErrors {
            let loaded = try Checkpoint.load(from: URL(fileURLWithPath: checkpoint))
            guard let gpt = loaded.model as? GPTLanguageModel else {
                throw GPTError.invalidArgument(name: "--checkpoint", reason: "a bigram model has no attention; train a GPT preset")
            }
            let tokens = try loaded.tokenizer.encode(prompt)
            guard !tokens.isEmpty else { throw GPTError.invalidArgument(name: "--prompt", reason: "must not be empty") }
            let context = Array(tokens.suffix(gpt.configuration.blockSize))
            if context.count < tokens.count { print("the prompt is cropped to its last \(context.count) tokens (the block size)") }
            let (weights, probabilities) = gpt.attentionMaps(context)
            let labels = context.map { loaded.tokenizer.label($0) }
            let directory = URL(fileURLWithPath: checkpoint)
            let heatmapURL = out.map { URL(fileURLWithPath: $0) } ?? directory.appendingPathComponent("attention.svg")
            let barsURL = probabilitiesOut.map { URL(fileURLWithPath: $0) } ?? directory.appendingPathComponent("next-token.svg")
            try writeAtomically(Data(AttentionHeatmaps(tokens: labels, weights: weights).svg().utf8), to: heatmapURL)
            let ranked = probabilities.enumerated().sorted { $0.element > $1.element }.prefix(top)
            let bars = ProbabilityBars(title: "Next token after \(visibleLabel(prompt))",
                                       bars: ranked.map { (loaded.tokenizer.label($0.offset), Double($0.element)) })
            try writeAtomically(Data(bars.svg().utf8), to: barsURL)
            for (token, p) in ranked.prefix(5) { print("\(visibleLabel(loaded.tokenizer.label(token)))\t\(String(format: "%.3f", p))") }
            print("wrote \(heatmapURL.path) and \(barsURL.path)")
        }
    }
}

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "A worked example: 2-D word embeddings learned from three sentences, in seconds.",
        discussion: """
            Trains a next-word model with 2-D embeddings on "I love dogs / I love cats / Dogs and cats are pets" \
            (7 words, lower-cased) and writes the embeddings before and after training as SVG pictures.
            """)

    @Option(help: "Directory for the before/after embedding pictures.") var out = "runs/demo"

    func run() throws {
        try reportingErrors {
            let example = SeedExample()
            print("corpus: \(SeedExample.text.split(separator: "\n").joined(separator: " / "))")
            print("vocabulary (\(example.vocabulary.count) words, lower-cased): " + example.vocabulary.joined(separator: " "))
            let directory = URL(fileURLWithPath: out)
            let before = example.embeddingPlot(title: "2-D word embeddings before training (random)")
            try writeAtomically(Data(before.svg().utf8), to: directory.appendingPathComponent("embeddings-before.svg"))
            let loss = try example.train()
            print(String(format: "trained 400 steps, loss %.3f", loss))
            print("next word after \"I love\":")
            for (word, probability) in try example.nextWordProbabilities(after: "I love").prefix(5) {
                print("  \(visibleLabel(word).padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(format: "%.3f", probability))")
            }
            print("a word's vector encodes what follows it; nearest vectors after training:")
            for (word, nearest, distance) in example.nearestWords() {
                print("  \(word.padding(toLength: 6, withPad: " ", startingAt: 0)) -> \(nearest) (\(String(format: "%.2f", distance)))")
            }
            let after = example.embeddingPlot(title: "2-D word embeddings after training")
            try writeAtomically(Data(after.svg().utf8), to: directory.appendingPathComponent("embeddings-after.svg"))
            print("wrote \(directory.path)/embeddings-before.svg and embeddings-after.svg")
        }
    }
}
