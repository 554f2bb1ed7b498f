import Foundation

/// The text a saved model is scored on (`gpt eval`): a given corpus whole, or the validation split of the corpus the
/// model's run trained on, as that run cut it.
public struct EvaluationText: Sendable {
    /// The token ids to score.
    public let tokens: [Int]
    /// What was left out of the text for being outside the vocabulary (with `skippingUnknown`).
    public let skipped: UnknownText?
    /// Their characters (Unicode scalars), for a loss per character.
    public let characters: Int
    /// What the text is, for a person.
    public let description: String

    /// `path` (a text file, a folder of text files or a prepared corpus) encoded with `tokenizer`, or, when `path`
    /// is `nil`, the validation split of the corpus recorded by the run saved at or under `checkpoint`. Text outside the
    /// vocabulary is an error, or is left out when `skippingUnknown`.
    public init(_ path: String?, checkpoint: URL, tokenizer: Tokenizer, skippingUnknown: Bool = false) throws {
        if let path {
            let corpus = try Corpus(path)
            if case .prepared = corpus {
                let dataset = try corpus.dataset(tokenizer: tokenizer).dataset
                tokens = Array(dataset.trainTokens) + Array(dataset.validationTokens)
                (characters, skipped) = (tokenizer.decode(tokens).unicodeScalars.count, nil)
            } else {
                let text = try corpus.text()
                let encoded = try tokenizer.encode(text, skippingUnknown: skippingUnknown)
                (tokens, skipped) = (encoded.tokens, encoded.skipped.isEmpty ? nil : encoded.skipped)
                characters = text.unicodeScalars.count - encoded.skipped.characters
            }
            description = corpus.description
            return
        }
        let saved = TrainingCheckpoint.locate(checkpoint).flatMap { try? TrainingState.read(from: $0).data } ?? nil
        let corpus = try Corpus(saved)
        let split = try corpus.dataset(tokenizer: tokenizer, skippingUnknown: skippingUnknown)
        (tokens, skipped) = (Array(split.dataset.validationTokens), split.skipped)
        characters = tokenizer.decode(tokens).unicodeScalars.count
        description = "the validation split of \(corpus.description)"
    }
}
