import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct InspectAttention: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Attention weights of every head on a prompt (SVG heatmaps) and the next-token probabilities.")

    @OptionGroup var model: CheckpointOptions
    @Option(help: "The text whose attention to show (cropped to the block size).") var prompt: String
    @Option(help: "Where to write the heatmaps (default: attention.svg in the checkpoint's directory).") var out: String?
    @Option(help: "Where to write the next-token bar chart (default: next-token.svg in the checkpoint's directory).")
    var probabilitiesOut: String?
    @Option(parsing: .unconditional, help: "Most likely next tokens to chart.") var top = 15

    func run() throws {
        try reportingErrors {
            let loaded = try model.load()
            guard let gpt = loaded.model as? GPTLanguageModel else {
                throw GPTError.invalidArgument(name: "--checkpoint", reason: "a bigram model has no attention; train a GPT preset")
            }
            let tokens = try loaded.tokenizer.encode(prompt)
            guard !tokens.isEmpty else { throw GPTError.invalidArgument(name: "--prompt", reason: "must not be empty") }
            let context = Array(tokens.suffix(gpt.configuration.blockSize))
            if context.count < tokens.count { print("the prompt is cropped to its last \(context.count) tokens (the block size)") }
            let (weights, probabilities) = gpt.attentionMaps(context)
            let labels = context.map { loaded.tokenizer.label($0) }
            let directory = model.url
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
