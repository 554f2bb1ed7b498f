import Foundation

/// Byte-level BPE in Hugging Face's `tokenizer.json` format (the `tokenizers` library's, what
/// `Tokenizer.from_file` and `PreTrainedTokenizerFast` read): a `BPE` model with GPT-2's ByteLevel pre-tokenizer
/// and decoder, its vocabulary and merges in GPT-2's printable byte alphabet.
extension BytePairTokenizer {
    /// This tokenizer as Hugging Face's `tokenizer.json`.
    public func huggingFaceJSON() throws -> Data {
        let files = try gpt2Files()
        let vocabulary = try JSONSerialization.jsonObject(with: files.vocabulary)
        let merges = files.merges.split(separator: "\n").dropFirst().map(String.init)
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        // GPT-2's <|endoftext|> is a special token: matched whole in text, never split, skipped when decoding.
        let added: [[String: Any]] = endOfTextToken.map { [["id": $0, "content": Self.endOfTextText, "single_word": false,
            "lstrip": false, "rstrip": false, "normalized": false, "special": true]] } ?? []
        let object: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added, "normalizer": NSNull(),
            "pre_tokenizer": byteLevel, "post_processor": byteLevel, "decoder": byteLevel,
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocabulary, "merges": merges] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// Reads Hugging Face's `tokenizer.json` of a byte-level BPE with GPT-2's pre-tokenizer; any other kind (a
    /// WordPiece, a SentencePiece-style BPE, added special tokens, a normalizer) is refused naming what it is.
    public init(huggingFaceJSON data: Data, source: String) throws {
        func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: source, reason: reason) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let model = object["model"] as? [String: Any] else { throw fail("not a Hugging Face tokenizer.json") }
        guard model["type"] as? String == "BPE" else {
            throw fail("its model is \(String(describing: model["type"] ?? "none").prefix(40)), not a byte-level BPE")
        }
        guard (object["pre_tokenizer"] as? [String: Any])?["type"] as? String == "ByteLevel" else {
            throw fail("its pre-tokenizer is not GPT-2's ByteLevel")
        }
        if !(object["normalizer"] is NSNull || object["normalizer"] == nil) { throw fail("it has a normalizer, which this reader does not apply") }
        guard let vocabulary = model["vocab"] as? [String: Int] else { throw fail("model.vocab is not a map of token ids") }
        // Merges come as "left right" strings (older files) or [left, right] pairs (newer ones).
        let merges: [String] = try (model["merges"] as? [Any] ?? []).map { item in
            if let line = item as? String { return line }
            if let pair = item as? [String], pair.count == 2 { return pair.joined(separator: " ") }
            throw fail("a merge is neither \"left right\" nor a pair")
        }
        let vocabularyData = try JSONSerialization.data(withJSONObject: vocabulary)
        try self.init(gpt2Vocabulary: vocabularyData, merges: merges.joined(separator: "\n"))
    }
}
