import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenize a text file into nanoGPT's format: train.bin, val.bin (uint16 ids), meta.pkl and meta.json.")

    @Option(help: "A UTF-8 text file (default: the bundled tiny shakespeare).") var data: String?
    @Option(help: "char, word, bpe (trained on the corpus) or gpt2 (GPT-2's files, see --gpt2-vocab).")
    var tokenizer = "char"
    @Option(help: "Vocabulary size of a bpe tokenizer.") var vocabSize = 512
    @Option(help: "GPT-2's vocab.json, for --tokenizer gpt2.") var gpt2Vocab: String?
    @Option(help: "GPT-2's merges.txt, for --tokenizer gpt2.") var gpt2Merges: String?
    @Option(help: "The folder to write.") var out: String

    func run() throws {
        try reportingErrors {
            let text = try readCorpus(at: try data ?? bundledCorpusPath())
            let trained: Tokenizer
            if tokenizer == "gpt2" {
                guard let gpt2Vocab, let gpt2Merges else {
                    throw GPTError.invalidArgument(name: "--tokenizer gpt2", reason: "needs --gpt2-vocab and --gpt2-merges")
                }
                guard let vocabulary = FileManager.default.contents(atPath: gpt2Vocab) else { throw GPTError.fileNotFound(path: gpt2Vocab) }
                let merges = try readCorpus(at: gpt2Merges)
                trained = .bytePair(try BytePairTokenizer(gpt2Vocabulary: vocabulary, merges: merges))
            } else {
                trained = try Tokenizer.training(tokenizer, on: text, vocabularySize: vocabSize)
            }
            let counts = try PreparedData.write(text: text, tokenizer: trained, to: URL(fileURLWithPath: out))
            print("wrote \(out): \(counts.train) train and \(counts.validation) val tokens, vocabulary \(trained.vocabularySize)")
            print("train on it with: gpt train --data \(out)")
        }
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Mean loss and perplexity of a saved model on a text file, or on its training corpus's validation split.")

    @Option(help: "A directory written by `gpt train`.") var checkpoint: String
    @Option(help: "A UTF-8 text file (default: the validation split of the corpus the model was trained on).")
    var data: String?
    @Option var batchSize = 32

    func run() throws {
        try reportingErrors {
            let directory = URL(fileURLWithPath: checkpoint)
            let loaded = try Checkpoint.load(from: directory)
            let tokens: [Int], characters: Int, source: String
            if let data {
                let text = try readCorpus(at: data)
                (tokens, characters, source) = (try loaded.tokenizer.encode(text), text.unicodeScalars.count, data)
            } else {
                // The validation split of the training corpus, as `gpt train` made it.
                let saved = TrainingCheckpoint.locate(directory).flatMap { try? TrainingState.read(from: $0).data } ?? nil
                if let saved, PreparedData.isPrepared(saved) {
                    let prepared = try PreparedData.load(saved)
                    tokens = Array(prepared.dataset.validationTokens)
                    characters = loaded.tokenizer.decode(tokens).unicodeScalars.count
                } else {
                    let text = try readCorpus(at: try saved ?? bundledCorpusPath())
                    let all = try loaded.tokenizer.encode(text)
                    tokens = Array(all[Int(Double(all.count) * 0.9)...])
                    characters = loaded.tokenizer.decode(tokens).unicodeScalars.count
                }
                source = "the validation split of \(saved ?? "tiny shakespeare")"
            }
            let result = evaluate(loaded.model, tokens: tokens, characters: characters, batchSize: batchSize)
            print("\(source): \(result.tokens) tokens")
            print(String(format: "loss %.6f nats/token, perplexity %.3f, %.4f nats/character (%.4f bits/character)",
                         result.meanLoss, result.perplexity, result.lossPerCharacter, result.lossPerCharacter / log(2)))
        }
    }
}
