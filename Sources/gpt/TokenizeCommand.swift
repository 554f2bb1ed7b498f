import ArgumentParser
import Foundation
import LanguageModels

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text, as Hugging Face's tokenizers library gives them.",
        discussion: """
            Reads the tokenizer of a checkpoint or Hugging Face folder (tokenizer.json, or GPT-2's vocab.json and \
            merges.txt), or a tokenizer.json named with --tokenizer. Prints the ids on one line; with --pieces, \
            each id and its token's string on a line of its own.
            """)

    @Option(help: "A checkpoint or Hugging Face folder.") var checkpoint: String?
    @Option(help: "A tokenizer file (tokenizer.json) instead of a folder's.") var tokenizer: String?
    @Flag(inversion: .prefixedNo, help: "Put the special tokens the tokenizer adds around a text (a BOS), as tokenizers' encode does.")
    var addSpecialTokens = true
    @Flag(help: "Show each token's string beside its id.") var pieces = false
    @Option(name: .customLong("file"), help: "Read the text from this file instead.") var textFile: String?
    @Flag(help: "Print only the count of tokens and the encoding speed.") var count = false
    @Argument(help: "The text.") var text: String?

    func run() throws {
        guard (checkpoint == nil) != (tokenizer == nil) else {
            throw GPTError.invalidArgument(name: "--checkpoint", reason: "name a checkpoint or a --tokenizer file, one of them")
        }
        let loaded = try Tokenizer.reading(checkpointOrFile: URL(fileURLWithPath: checkpoint ?? tokenizer!))
        guard (text == nil) != (textFile == nil) else {
            throw GPTError.invalidArgument(name: "--file", reason: "give the text or a --file, one of them")
        }
        let input = try text ?? readCorpus(at: textFile!)
        let start = Date()
        let result = try loaded.tokenization(of: input, addingSpecialTokens: addSpecialTokens)
        if count {
            let seconds = Date().timeIntervalSince(start)
            print("\(result.ids.count) tokens from \(input.utf8.count) bytes in \(String(format: "%.3f", seconds)) s "
                + "(\(Int(Double(result.ids.count) / max(seconds, 1e-9))) tokens/s)")
            return
        }
        guard pieces else {
            print(result.ids.map(String.init).joined(separator: " "))
            return
        }
        for (id, piece) in zip(result.ids, result.pieces) { print("\(id)\t\(piece.debugDescription)") }
    }
}
