import Foundation

/// What `gpt tokenize` shows: a text's token ids as the `tokenizers` library gives them, and each token's string.
public struct Tokenization: Equatable, Sendable {
    public var ids: [Int]
    /// Each token's string as the vocabulary spells it (`Ġthe`, `▁the`, `<0x0A>`, `<|im_start|>`); for a character
    /// or word tokenizer, its text.
    public var pieces: [String]
}

extension Tokenizer {
    /// The tokenizer of a checkpoint or Hugging Face folder (`tokenizer.json`, else GPT-2's `vocab.json` and
    /// `merges.txt`), or of a tokenizer file.
    public static func reading(checkpointOrFile url: URL) throws -> Tokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { throw GPTError.fileNotFound(path: url.path) }
        guard isDirectory.boolValue else { return try read(from: url) }
        let file = url.appendingPathComponent(Checkpoint.tokenizerFile)
        if FileManager.default.fileExists(atPath: file.path) { return try Tokenizer(contentsOf: file) }
        let vocabulary = url.appendingPathComponent("vocab.json"), merges = url.appendingPathComponent("merges.txt")
        guard let vocabularyData = try boundedContents(of: vocabulary, limit: BytePairTokenizer.maximumFileBytes),
              let mergesData = try boundedContents(of: merges, limit: BytePairTokenizer.maximumFileBytes),
              let mergesText = String(data: mergesData, encoding: .utf8) else {
            throw GPTError.invalidCheckpoint(path: url.path, reason: "no tokenizer.json (nor GPT-2's vocab.json and merges.txt) in it")
        }
        return .bytePair(try BytePairTokenizer(gpt2Vocabulary: vocabularyData, merges: mergesText))
    }

    /// The ids of `text` and their strings. `addingSpecialTokens` puts the post-processor's special tokens (a BOS)
    /// around them, as `tokenizers`' `encode(text)` does by default; kinds without a post-processor add none.
    public func tokenization(of text: String, addingSpecialTokens: Bool = true) throws -> Tokenization {
        switch self {
        case .bytePair(let tokenizer):
            let (ids, pieces) = tokenizer.encodeWithPieces(text, addingSpecialTokens: addingSpecialTokens)
            return Tokenization(ids: ids, pieces: pieces)
        default:
            let ids = try encode(text)
            return Tokenization(ids: ids, pieces: ids.map { decode([$0]) })
        }
    }

    /// The text of `tokens` as `tokenizers`' `decode` gives it; special tokens are kept unless
    /// `skippingSpecialTokens` (the library's default is to skip them).
    public func decode(_ tokens: [Int], skippingSpecialTokens: Bool) -> String {
        guard case .bytePair(let tokenizer) = self else { return decode(tokens) }
        return tokenizer.decode(tokens, skippingSpecialTokens: skippingSpecialTokens)
    }
}
