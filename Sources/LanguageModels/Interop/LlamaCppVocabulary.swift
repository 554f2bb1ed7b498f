import Foundation

/// A tokenizer as llama.cpp's `gpt2` vocabulary reads it (`tokenizer.ggml.*`, `src/llama-vocab.cpp`): byte-level BPE,
/// each token its bytes in GPT-2's printable stand-ins (`Ġ` for a space), merges as `"left right"` by rank, the
/// pre-split of GPT-2's regular expression (`tokenizer.ggml.pre` "gpt-2").
///
/// A character vocabulary becomes one of these too: each character is the byte-level text of its UTF-8 bytes, and
/// the merges that join those bytes (`"Ã ©"` forms `é`) are the only merges, so llama.cpp's tokenizer gives the
/// character ids. llama.cpp treats token 11 as the end of text unless told otherwise, so a vocabulary without one
/// gets `<|endoftext|>` appended (its embedding and logit rows are zero).
struct LlamaCppVocabulary {
    /// `llama_token_type`.
    enum TokenType: Int32 { case normal = 1, control = 3, unused = 5 }

    var tokens: [String] = []
    var types: [TokenType] = []
    var merges: [String] = []
    /// The id of `<|endoftext|>`: `bos_token_id` and `eos_token_id`.
    var endOfText = 0

    static let endOfTextText = BytePairTokenizer.endOfTextText

    /// The vocabulary for `tokenizer` and a model of `modelVocabularySize` rows (ids past the tokenizer's are
    /// unused tokens). Throws naming what llama.cpp cannot hold: a word-level tokenizer, a model with fewer rows
    /// than tokens, two ids with the same bytes (llama.cpp keys tokens by text).
    init(_ tokenizer: Tokenizer, modelVocabularySize: Int) throws {
        func fail(_ reason: String) -> GPTError { .invalidArgument(name: "tokenizer", reason: reason) }
        guard modelVocabularySize >= tokenizer.vocabularySize else {
            throw fail("has \(tokenizer.vocabularySize) tokens for a model of \(modelVocabularySize) rows")
        }
        let text = BytePairTokenizer.gpt2Text
        var endOfText: Int?
        switch tokenizer {
        case .character(let characters):
            var seen = Set<String>()
            for scalar in characters.vocabulary {
                let bytes = Array(String(scalar).utf8)
                append(text(bytes), .normal)
                for split in 1..<max(bytes.count, 1) {
                    let merge = text(Array(bytes[..<split])) + " " + text([bytes[split]])
                    if seen.insert(merge).inserted { merges.append(merge) }
                }
            }
            // ChatML's tokens of a model fine-tuned on conversations, after the characters, as llama.cpp's controls.
            for special in characters.specialTokens { append(special, .control) }
        case .bytePair(let bpe):
            endOfText = bpe.endOfTextToken  // GPT-2's <|endoftext|> (50256): the id that no merge forms
            for bytes in bpe.tokenBytes {
                if !bytes.isEmpty {
                    append(text(bytes), .normal)
                } else if tokens.count == endOfText {
                    append(Self.endOfTextText, .control)
                } else {
                    append("<|unused_\(tokens.count)|>", .unused)
                }
            }
            merges = bpe.merges.map { text(bpe.tokenBytes[$0[0]]) + " " + text(bpe.tokenBytes[$0[1]]) }
        case .word:
            throw fail("is word-level; llama.cpp reads byte-level BPE: retrain with --tokenizer char or bpe")
        }
        while tokens.count < modelVocabularySize { append("<|unused_\(tokens.count)|>", .unused) }
        var ids: [String: Int] = [:]
        for (id, token) in tokens.enumerated() {
            if let first = ids.updateValue(id, forKey: token) {
                throw fail("tokens \(first) and \(id) have the same bytes (\(token.prefix(40).debugDescription)); llama.cpp keys tokens by text")
            }
        }
        if endOfText == nil {
            guard ids[Self.endOfTextText] == nil else {
                throw fail("has a token spelled \(Self.endOfTextText) that is not its end of text")
            }
            endOfText = tokens.count
            append(Self.endOfTextText, .control)
        }
        self.endOfText = endOfText!
    }

    mutating func append(_ token: String, _ type: TokenType) {
        tokens.append(token)
        types.append(type)
    }
}
