import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

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
