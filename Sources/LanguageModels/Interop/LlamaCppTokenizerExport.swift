import Foundation

extension LlamaCppTokenizer {
    /// The `tokenizer.*` metadata of `tokenizer` for a model of `modelVocabularySize` rows, and how many rows the
    /// vocabulary adds past the model's (zero rows are appended to the embedding and head for them).
    ///
    /// A tokenizer trained here (or a character tokenizer) is written as ``LlamaCppVocabulary`` writes it (GPT-2's
    /// pre-split). A tokenizer read from a `tokenizer.json` is written as the `gpt2` or `llama` model whose import
    /// gives the same tokenizer back: each candidate (every pre-split of ``preSplits``; with and without a space
    /// prefix) is encoded, read back by ``read(_:)`` and compared; none equal is refused naming what GGUF cannot hold.
    /// The chat template (`chat_template.jinja`) goes in `tokenizer.chat_template`, the bos and eos of
    /// `tokenizer_config.json` in their ids.
    static func metadata(_ tokenizer: Tokenizer, companionFiles: [String: Data], modelVocabularySize: Int) throws
        -> (metadata: [(key: String, value: GGUF.Value)], extraRows: Int) {
        var metadata: [(key: String, value: GGUF.Value)] = []
        let extraRows: Int
        if case .bytePair(let bpe) = tokenizer, let pipeline = bpe.pipeline {
            guard pipeline.tokens.count <= modelVocabularySize else {
                throw GPTError.invalidArgument(name: "tokenizer", reason: "has \(pipeline.tokens.count) tokens for a model of \(modelVocabularySize) rows")
            }
            let special = specialTokens(companionFiles, pipeline: pipeline)
            // Compared at the tokenizer's own size; written with the model's unused rows as unused tokens.
            let tried = candidates(bpe, pipeline, bos: special.bos, eos: special.eos, rows: pipeline.tokens.count)
            guard let chosen = tried.firstIndex(where: { candidate in
                guard let file = try? GGUF.File(GGUF.encode(metadata: candidate, tensors: [])),
                      let back = try? read(file).tokenizer, case .bytePair(let read) = back else { return false }
                return read.pipeline == pipeline && (!pipeline.isByteLevel || read.merges == bpe.merges)
            }) else {
                throw GPTError.invalidArgument(name: "tokenizer", reason: "is not one llama.cpp's tokenizers hold: a byte-level BPE "
                    + "with the pre-split of \(preSplits.flatMap(\.names).joined(separator: ", ")), or a SentencePiece-style BPE "
                    + "with byte fallback, without a normalizer or decoder of its own")
            }
            metadata = candidates(bpe, pipeline, bos: special.bos, eos: special.eos, rows: modelVocabularySize)[chosen]
            extraRows = 0
        } else {
            let vocabulary = try LlamaCppVocabulary(tokenizer, modelVocabularySize: modelVocabularySize)
            metadata = [
                ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("gpt-2")),
                ("tokenizer.ggml.tokens", .strings(vocabulary.tokens)),
                ("tokenizer.ggml.token_type", .int32s(vocabulary.types.map(\.rawValue))),
                ("tokenizer.ggml.merges", .strings(vocabulary.merges)),
                ("tokenizer.ggml.bos_token_id", .uint32(UInt32(vocabulary.endOfText))),
                ("tokenizer.ggml.eos_token_id", .uint32(UInt32(vocabulary.endOfText))),
                ("tokenizer.ggml.add_bos_token", .bool(false)), ("tokenizer.ggml.add_eos_token", .bool(false)),
            ]
            extraRows = vocabulary.tokens.count - modelVocabularySize
        }
        if let template = companionFiles["chat_template.jinja"], let text = String(data: template, encoding: .utf8) {
            metadata.append(("tokenizer.chat_template", .string(text)))
        }
        return (metadata, extraRows)
    }

    /// The bos and eos ids: `tokenizer_config.json`'s `bos_token` and `eos_token` (a string or `{"content": ...}`),
    /// else the post-processor's first and last special tokens, else `<|endoftext|>`.
    static func specialTokens(_ files: [String: Data], pipeline: TextPipeline) -> (bos: Int?, eos: Int?) {
        func id(_ key: String) -> Int? {
            guard let data = files["tokenizer_config.json"], let file = try? JSONField(OrderedJSON(parsing: data)),
                  let field = try? file.optionalMember(key) else { return nil }
            let text = (try? field.string()) ?? (try? field.member("content").string())
            return text.flatMap { text in pipeline.tokens.firstIndex { $0.map(ExactText.init) == ExactText(text) } }
        }
        let endOfText = pipeline.tokens.firstIndex { $0 == BytePairTokenizer.endOfTextText }
        return (id("bos_token") ?? pipeline.postProcessor.prefix.first ?? endOfText,
                id("eos_token") ?? pipeline.postProcessor.suffix.last ?? endOfText)
    }

    /// The metadata a `gpt2` or `llama` model of `bpe` could be written as, most likely first.
    private static func candidates(_ bpe: BytePairTokenizer, _ pipeline: TextPipeline, bos: Int?, eos: Int?, rows: Int)
        -> [[(key: String, value: GGUF.Value)]] {
        let added = Dictionary(pipeline.added.tokens.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var tokens: [String] = [], types: [Int32] = []
        for id in 0..<rows {
            let token = id < pipeline.tokens.count ? pipeline.tokens[id] : nil
            tokens.append(token ?? "<|unused_\(id)|>")
            let type: TokenType = token == nil ? .unused
                : added[id].map { $0.special ? (id == pipeline.unknownToken ? .unknown : .control) : .userDefined }
                ?? (id == pipeline.unknownToken ? .unknown : !pipeline.isByteLevel && isByteToken(token!) ? .byte : .normal)
            types.append(type.rawValue)
        }
        var common: [(key: String, value: GGUF.Value)] = [
            ("tokenizer.ggml.tokens", .strings(tokens)), ("tokenizer.ggml.token_type", .int32s(types)),
            ("tokenizer.ggml.add_bos_token", .bool(!pipeline.postProcessor.prefix.isEmpty)),
            ("tokenizer.ggml.add_eos_token", .bool(!pipeline.postProcessor.suffix.isEmpty)),
        ]
        if let bos { common.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))) }
        if let eos { common.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos)))) }
        if pipeline.isByteLevel {
            let merges = bpe.merges.map { "\(tokens[$0[0]]) \(tokens[$0[1]])" }
            return preSplits.map { split in
                [("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string(split.names[0])),
                 ("tokenizer.ggml.merges", .strings(merges))] + common
            }
        }
        // SentencePiece: a merged token scores minus the rank of its first merge, so that llama.cpp joins by rank.
        var scores = [Float](repeating: -1e9, count: rows)  // tokens no merge makes: never joined before one that is
        for (rank, merge) in bpe.merges.enumerated().reversed() { scores[merge[2]] = -Float(rank + 1) }
        if let unknown = pipeline.unknownToken { common.append(("tokenizer.ggml.unknown_token_id", .uint32(UInt32(unknown)))) }
        return [true, false].map { prefix in
            [("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.scores", .float32s(scores)),
             ("tokenizer.ggml.add_space_prefix", .bool(prefix))] + common
        }
    }

    /// Whether `token` is SentencePiece's spelling of one byte, `<0xAB>`.
    static func isByteToken(_ token: String) -> Bool {
        token.utf8.count == 6 && token.hasPrefix("<0x") && token.hasSuffix(">") && UInt8(token.dropFirst(3).prefix(2), radix: 16) != nil
    }
}
