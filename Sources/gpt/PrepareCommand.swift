import ArgumentParser
import Foundation
import LanguageModels

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenize a text file into nanoGPT's format: train.bin, val.bin (uint16 ids), meta.pkl and meta.json.")

    @Option(help: "A UTF-8 text file or a folder of .txt files, joined in name order (default: the bundled tiny shakespeare).")
    var data: String?
    @Option(help: "char, word, bpe (trained on the corpus) or gpt2 (GPT-2's files, see --gpt2-vocab).")
    var tokenizer = "char"
    @Option(parsing: .unconditional, help: "Vocabulary size of a bpe tokenizer.") var vocabSize = 512
    @Option(help: "GPT-2's vocab.json, for --tokenizer gpt2.") var gpt2Vocab: String?
    @Option(help: "GPT-2's merges.txt, for --tokenizer gpt2.") var gpt2Merges: String?
    @Option(help: "The folder to write.") var out: String

    func run() throws {
        try reportingErrors {
            let corpus = try Corpus(data)
            let text = try corpus.text()
            let trained: Tokenizer
            if tokenizer == "gpt2" {
                guard let gpt2Vocab, let gpt2Merges else {
                    throw GPTError.invalidArgument(name: "--tokenizer gpt2", reason: "needs --gpt2-vocab and --gpt2-merges")
                }
                guard let vocabulary = FileManager.default.contents(atPath: gpt2Vocab) else { throw GPTError.fileNotFound(path: gpt2Vocab) }
                trained = .bytePair(try BytePairTokenizer(gpt2Vocabulary: vocabulary, merges: try readCorpus(at: gpt2Merges)))
            } else {
                trained = try Tokenizer.training(tokenizer, on: text, vocabularySize: vocabSize)
            }
            let counts = try PreparedData.write(text: text, tokenizer: trained, to: URL(fileURLWithPath: out))
            print("wrote \(out) from \(corpus.description): \(counts.train) train and \(counts.validation) val tokens, "
                + "vocabulary \(trained.vocabularySize)")
            print("train on it with: gpt train --data \(out)")
        }
    }
}
