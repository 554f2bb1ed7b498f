import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Generate text from a saved model, printed as it is generated.")

    @OptionGroup var model: CheckpointOptions
    @Option(help: "Text to continue (default: start from a newline, as the lecture).") var prompt = ""
    @OptionGroup(title: "Sampling") var sampling: SamplingArguments
    @Flag(help: "Leave out prompt text outside the model's vocabulary (counted and named) instead of refusing it.")
    var skipUnknown = false

    func run() throws {
        try reportingErrors {
            let options = try sampling.options()
            let generator = try TextGenerator(checkpoint: model.url)
            let (tokens, skipped) = try generator.promptTokens(prompt, skippingUnknown: skipUnknown)
            if !skipped.isEmpty { printError("left out of the prompt, outside the model's vocabulary: \(skipped)") }
            let samples = options.samples
            for sample in 0..<samples {
                if samples > 1 { emit("--- sample \(sample + 1) ---\n") }
                emit(prompt)
                var choices: [TokenChoice] = []
                try generator.generate(prompt: tokens, options: options, sample: sample) { piece in
                    emit(piece.text)
                    choices += piece.tokens
                    return true
                }
                emit("\n")
                if options.logprobs > 0 { printLogprobs(choices, tokenizer: generator.tokenizer) }
            }
        }
    }

    func printLogprobs(_ choices: [TokenChoice], tokenizer: Tokenizer) {
        emit("token      logprob  alternatives\n")
        for choice in choices {
            let shown = { (token: Int) in tokenizer.decode([token]).debugDescription }
            let alternatives = choice.alternatives.map { "\(shown($0.token)) \(String(format: "%.3f", $0.logprob))" }
            emit(shown(choice.token).padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%8.3f  ", choice.logprob) + alternatives.joined(separator: ", ") + "\n")
        }
    }
}
