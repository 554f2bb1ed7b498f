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
    @Option(help: "The text whose most frequent tokens the map names (default: the run's training corpus, if known).")
    var data: String?
    @Option(help: "The most tokens named on the map.") var labels = 100

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
            guard labels >= 0 else { throw GPTError.invalidArgument(name: "--labels", reason: "must be 0 or more, got \(labels)") }
            let counts = try tokenCounts(tokenizer: tokenizer)
            let plot = analysis.map(tokenizer: tokenizer, counts: counts, maximumLabels: labels)
            let url = out.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: checkpoint).appendingPathComponent("embeddings.svg")
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
        guard let save = TrainingCheckpoint.locate(URL(fileURLWithPath: checkpoint)),
              let state = try? TrainingState.read(from: save), let corpus = try? Corpus(state.data),
              let counts = try? EmbeddingAnalysis.counts(in: corpus, tokenizer: tokenizer) else { return nil }
        print("named: the most frequent tokens of \(corpus.description)")
        return counts
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
        abstract: "A worked example: 2-D word vectors learned from three sentences, in seconds.",
        discussion: """
            Trains a next-word model with 2-D word vectors on "I love dogs / I love cats / Dogs and cats are pets" \
            (7 words, lower-cased) and writes each word's output vector before and after training as SVG pictures \
            on one scale: dogs and cats, which both follow "love", end close together.
            """)

    @Option(help: "Directory for the before/after pictures.") var out = "runs/demo"

    func run() throws {
        try reportingErrors {
            let example = SeedExample()
            print("corpus: \(SeedExample.text.split(separator: "\n").joined(separator: " / "))")
            print("vocabulary (\(example.vocabulary.count) words, lower-cased): " + example.vocabulary.joined(separator: " "))
            let before = example.outputVectors()
            let loss = try example.train()
            let after = example.outputVectors()
            print(String(format: "trained 400 steps; loss %.3f (mean cross-entropy of the 10 word pairs, in nats; "
                + "a uniform guess scores ln 7 = 1.946)", loss))
            print("probability of each word coming next after \"I love\":")
            for (word, probability) in try example.nextWordProbabilities(after: "I love").prefix(5) {
                print("  \(word.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(format: "%.3f", probability))")
            }
            print("a word's output vector scores it as the next word, so words that come in the same places end close:")
            print("nearest other word by output vector (Euclidean distance in the plane), before -> after training:")
            for (old, new) in zip(example.nearestWords(in: before), example.nearestWords(in: after)) {
                print("  \(old.word.padding(toLength: 6, withPad: " ", startingAt: 0)) "
                    + "\(old.nearest) (\(String(format: "%.2f", old.distance))) -> \(new.nearest) (\(String(format: "%.2f", new.distance)))")
            }
            let directory = URL(fileURLWithPath: out)
            for (name, vectors, title) in [("before", before, "Word output vectors before training (random)"),
                                           ("after", after, "Word output vectors after 400 steps")] {
                let plot = example.plot(vectors, title: title, scale: before + after)
                try writeAtomically(Data(plot.svg().utf8), to: directory.appendingPathComponent("embeddings-\(name).svg"))
            }
            print("wrote \(directory.path)/embeddings-before.svg and embeddings-after.svg (one scale)")
        }
    }
}
