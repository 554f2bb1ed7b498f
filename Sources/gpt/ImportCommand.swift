import ArgumentParser
import Foundation
import LanguageModels

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn another tool's model (nanoGPT's ckpt.pt, a state dict, a Hugging Face folder) or any export of this tool into a checkpoint.",
        discussion: """
            The format is recognised from the path. An export of this tool imports back with nothing else given: its \
            configuration and tokenizer lie beside it. ckpt.pt is read without Python and without running anything in \
            it; a vocabulary padded past the tokenizer's (nanoGPT pads GPT-2's 50257 to 50304) is cut to the \
            tokenizer's tokens.
            """)

    @Argument(help: "The model: a ckpt.pt, a state dict (.safetensors), a Hugging Face folder or an export of this tool.")
    var path: String?
    @Option(help: "The model, as the argument (either way).") var weights: String?
    @Option(help: "What the model is, checked against what the path holds: \(ModelFormats.all.map(\.name).joined(separator: ", ")) (default: recognised).")
    var from: String?
    @Option(help: "A configuration (JSON with nanoGPT's keys) instead of the one beside the weights or in ckpt.pt.")
    var config: String?
    @Option(help: "A tokenizer (meta.pkl, meta.json or tokenizer.json) instead of the one beside the weights.")
    var vocab: String?
    @Option(help: "The checkpoint directory to write.") var out: String

    func run() throws {
        try reportingErrors {
            guard let source = weights ?? path, (weights == nil) != (path == nil) else {
                throw GPTError.invalidArgument(name: "--weights", reason: "name the model once: PATH or --weights PATH")
            }
            let url = URL(fileURLWithPath: source)
            let format = try ModelFormats.detect(url)
            if let from, from.lowercased() != format.name {
                _ = try ModelFormats.named(from)  // an unknown name is refused as such
                throw GPTError.invalidArgument(name: "--from", reason: "says \(from.prefix(40)), but \(source.prefix(200)) is \(format.summary)")
            }
            let checkpoint = try format.read(url, tokenizer: vocab.map { URL(fileURLWithPath: $0) },
                                             configuration: config.map { URL(fileURLWithPath: $0) })
            try checkpoint.save(to: URL(fileURLWithPath: out))
            print("imported \(checkpoint.description(from: format)) into \(out)")
        }
    }
}
