import ArgumentParser
import Foundation
import LanguageModels

extension GGUF.TensorType: ExpressibleByArgument {
    public init?(argument: String) {
        guard let type = Self.allCases.first(where: { $0.name == argument.lowercased() }) else { return nil }
        self = type
    }
    public static var allValueStrings: [String] { allCases.map(\.name) }
    public var defaultValueDescription: String { name }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint for nanoGPT's GPT class, the lecture's gpt.py, Hugging Face transformers or llama.cpp.",
        discussion: "Every export imports back with `gpt import PATH`: its configuration and tokenizer go beside it.")

    @OptionGroup var model: CheckpointOptions
    @Option(help: "nanogpt (a state dict for nanoGPT's GPT), lecture (for the lecture's gpt.py), hf (a folder transformers' from_pretrained loads) or gguf (llama.cpp's gpt2, llama, qwen2 or qwen3).")
    var format = "nanogpt"
    @Option(help: "The file to write (.safetensors for nanogpt and lecture, .gguf for gguf) or, for hf, a folder.")
    var out: String
    @Option(help: "For gguf: how the weight matrices are stored, f32, f16, bf16 or q8_0 (norms and biases stay f32).")
    var ggufType = GGUF.TensorType.f32

    func run() throws {
        try reportingErrors {
            let target = try ModelFormats.named(format)
            let loaded = try model.load()
            guard let gpt = loaded.model as? GPTLanguageModel else {
                throw GPTError.invalidArgument(name: "--checkpoint", reason: "only a GPT can be exported")
            }
            if let note = try target.check(gpt) { printError("note: " + note) }
            var options = ExportOptions()
            options.ggufType = ggufType
            print("wrote " + (try target.write(loaded, to: URL(fileURLWithPath: out), options: options)))
        }
    }
}
