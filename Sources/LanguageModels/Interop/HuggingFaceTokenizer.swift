import Foundation

/// Byte-level BPE in Hugging Face's `tokenizer.json` format (the `tokenizers` library's, what
/// `Tokenizer.from_file` and `PreTrainedTokenizerFast` read): a `BPE` model with GPT-2's ByteLevel pre-tokenizer
/// and decoder, its vocabulary and merges in GPT-2's printable byte alphabet. ``Tokenizer`` reads and writes every
/// kind; these are the byte-level BPE's parts of it.
extension BytePairTokenizer {
    /// This tokenizer as Hugging Face's `tokenizer.json` (``Tokenizer/huggingFaceJSON()``).
    public func huggingFaceJSON() throws -> Data { Tokenizer.bytePair(self).huggingFaceJSON() }

    /// Reads Hugging Face's `tokenizer.json` of a byte-level BPE with GPT-2's pre-tokenizer; any other kind (a
    /// WordPiece, a SentencePiece-style BPE, a normalizer) is refused naming what it is.
    public init(huggingFaceJSON data: Data, source: String) throws {
        let tokenizer = try Tokenizer(huggingFaceJSON: data, source: source)
        guard case .bytePair(let bytePair) = tokenizer else {
            throw GPTError.invalidCheckpoint(path: source, reason: "it is a \(tokenizer.kind) tokenizer, not a byte-level BPE")
        }
        self = bytePair
    }

    init(huggingFace file: JSONField) throws {
        guard try Self.isPlainGPT2(file) else {
            try self.init(pipelineFile: file)
            return
        }
        let preTokenizer = try file.member("pre_tokenizer")
        guard try preTokenizer.member("type").string() == "ByteLevel" else {
            throw preTokenizer.fail("must be GPT-2's ByteLevel (or null for a character tokenizer)")
        }
        if try preTokenizer.optionalMember("add_prefix_space")?.bool() == true {
            throw preTokenizer.fail("adds a prefix space, which this package does not")
        }
        let model = try file.member("model")
        try model.requireUnset("dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "byte_fallback")
        let tokens = try model.member("vocab").vocabularyByID().map(\.token)
        // Merges come as "left right" strings (older files) or [left, right] pairs (newer ones).
        let merges = try model.member("merges").mergePairs()
        do {
            try self.init(gpt2Tokens: tokens, merges: merges)
        } catch let error as GPTError {
            throw model.fail("does not describe a byte-level BPE: \(error)")
        }
    }

    var huggingFaceFile: OrderedJSON {
        if let pipeline { return pipeline.file }
        let byteLevel = OrderedJSON.object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)),
                                            ("trim_offsets", .bool(true)), ("use_regex", .bool(true))])
        // GPT-2's <|endoftext|> is a special token: matched whole in text, never split, skipped when decoding.
        let added: [OrderedJSON] = endOfTextToken.map { [.object([
            ("id", .number(String($0))), ("content", .string(Self.endOfTextText)), ("single_word", .bool(false)),
            ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(true)),
        ])] } ?? []
        var vocabulary = (0..<vocabularySize).filter { !tokenBytes[$0].isEmpty }.map { (Self.gpt2Text(tokenBytes[$0]), $0) }
        if let endOfText = endOfTextToken { vocabulary.append((Self.endOfTextText, endOfText)) }
        vocabulary.sort { $0.1 < $1.1 }
        let merges = merges.map { OrderedJSON.string(Self.gpt2Text(tokenBytes[$0[0]]) + " " + Self.gpt2Text(tokenBytes[$0[1]])) }
        return .huggingFaceFile(addedTokens: added, preTokenizer: byteLevel, postProcessor: byteLevel, decoder: byteLevel, model: [
            ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null), ("continuing_subword_prefix", .string("")),
            ("end_of_word_suffix", .string("")), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
            ("ignore_merges", .bool(false)), ("vocab", .vocabulary(vocabulary)), ("merges", .array(merges)),
        ])
    }
}

extension JSONField {
    /// `model.merges` by rank: `"left right"` strings (older files) or `[left, right]` pairs (newer ones).
    func mergePairs() throws -> [(left: String, right: String)] {
        try elements().map { item -> (left: String, right: String) in
            if case .string(let line) = item.value {
                let parts = line.unicodeScalars.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw item.fail("must be two tokens around a space") }
                return (String(Substring(parts[0])), String(Substring(parts[1])))
            }
            let pair = try item.elements().map { try $0.string() }
            guard pair.count == 2 else { throw item.fail("must be \"left right\" or a pair") }
            return (pair[0], pair[1])
        }
    }
}
