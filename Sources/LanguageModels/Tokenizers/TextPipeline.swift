import Foundation

/// Everything a `tokenizer.json` says beside the merges, for a BPE read from a file (Llama 3, Qwen2, Llama 2,
/// TinyLlama, Mistral, or GPT-2 with added tokens): encoding is added tokens, then normalizer, pre-tokenizer, BPE
/// model and post-processor; decoding is the decoder on the tokens' strings. As the `tokenizers` library does.
struct TextPipeline: Equatable, Sendable {
    var normalizer: Normalizer?
    var preTokenizer: PreTokenizer?
    var added: AddedVocabulary
    var postProcessor: PostProcessor
    var decoder: TokenDecoder?
    /// Each token's string by id (the model's vocabulary, then the added tokens'); nil for an id without a token.
    var tokens: [String?]
    /// A piece that is itself a token is that token (Llama 3's `ignore_merges`).
    var ignoreMerges = false
    /// A character outside the vocabulary becomes its bytes' `<0xAB>` tokens (`byte_fallback`).
    var byteFallback = false
    var unknownToken: Int?
    /// Neighbouring unknown characters become one unknown token (`fuse_unk`).
    var fuseUnknown = false
    /// The model's tokens by their UTF-8 (a byte-level model's: by the bytes they stand for).
    var idOfText: [[UInt8]: Int] = [:]
    /// The file as read, written back as it was.
    var file: OrderedJSON = .null

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.normalizer == rhs.normalizer && lhs.preTokenizer == rhs.preTokenizer && lhs.added == rhs.added
            && lhs.postProcessor == rhs.postProcessor && lhs.decoder == rhs.decoder
            && lhs.tokens.elementsEqual(rhs.tokens) { $0.map(ExactText.init) == $1.map(ExactText.init) }
            && lhs.ignoreMerges == rhs.ignoreMerges && lhs.byteFallback == rhs.byteFallback
            && lhs.unknownToken == rhs.unknownToken && lhs.fuseUnknown == rhs.fuseUnknown
    }

    var isByteLevel: Bool { preTokenizer?.isByteLevel ?? false }
}

extension BytePairTokenizer {
    /// The token ids of `text`, as `tokenizers`' `encode(text, add_special_tokens=addingSpecialTokens).ids`: with
    /// special tokens added, the post-processor's (a BOS such as `<s>` or `<|begin_of_text|>`) go around the text.
    public func encode(_ text: String, addingSpecialTokens: Bool) -> [Int] {
        guard pipeline != nil else { return encode(text) }
        return encodeWithPieces(text, addingSpecialTokens: addingSpecialTokens).ids
    }

    /// The ids and each token's string; an added token's is the text it matched (with what `lstrip`/`rstrip` took).
    func encodeWithPieces(_ text: String, addingSpecialTokens: Bool) -> (ids: [Int], pieces: [String]) {
        guard let pipeline else {
            let ids = encode(text)
            return (ids, tokenStrings(ids))
        }
        var cache: [ExactText: [Int]] = [:]
        var ids: [Int] = [], matched: [Int: String] = [:]  // the text of added tokens, by position in ids
        let whole = Substring(text)
        for part in pipeline.added.split(whole, normalized: false) {
            if let id = part.id { matched[ids.count] = String(part.text); ids.append(id); continue }
            let atStart = part.text.startIndex == whole.startIndex
            let normalized = Substring(pipeline.normalizer?.apply(String(part.text)) ?? String(part.text))
            for inner in pipeline.added.split(normalized, normalized: true) {
                if let id = inner.id { matched[ids.count] = String(inner.text); ids.append(id); continue }
                let first = PreTokenizer.Piece(text: inner.text, atStart: atStart && inner.text.startIndex == normalized.startIndex)
                let pieces = pipeline.preTokenizer?.apply([first]) ?? (inner.text.isEmpty ? [] : [first])
                for piece in pieces {
                    let key = ExactText(String(piece.text))
                    if let known = cache[key] { ids += known; continue }
                    let found = modelTokens(piece.text, pipeline)
                    cache[key] = found
                    ids += found
                }
            }
        }
        var pieces = tokenStrings(ids)
        for (position, text) in matched { pieces[position] = text }
        guard addingSpecialTokens else { return (ids, pieces) }
        let (prefix, suffix) = (pipeline.postProcessor.prefix, pipeline.postProcessor.suffix)
        return (prefix + ids + suffix, tokenStrings(prefix) + pieces + tokenStrings(suffix))
    }

    /// The BPE model's tokens for one piece, as `tokenizers`' `BPE::merge_word` then `merge_all`.
    private func modelTokens(_ piece: Substring, _ pipeline: TextPipeline) -> [Int] {
        if pipeline.ignoreMerges, let id = pipeline.idOfText[Array(piece.utf8)] { return [id] }
        if pipeline.isByteLevel { return mergeAll(piece.utf8.map { byteTokens[Int($0)] }.filter { $0 >= 0 }) }
        var symbols: [Int] = []
        symbols.reserveCapacity(piece.utf8.count)
        var unknown: Int?  // the pending unknown token, added when a known one follows
        var idOfScalar: [Unicode.Scalar: Int] = [:]  // -1 for a character outside the vocabulary
        for scalar in piece.unicodeScalars {
            let known = idOfScalar[scalar] ?? {
                let id = pipeline.idOfText[Array(String(scalar).utf8)] ?? -1
                idOfScalar[scalar] = id
                return id
            }()
            if known >= 0 {
                if let pending = unknown { symbols.append(pending); unknown = nil }
                symbols.append(known)
                continue
            }
            let bytes = Array(String(scalar).utf8)
            if pipeline.byteFallback, !byteTokens.isEmpty, bytes.allSatisfy({ byteTokens[Int($0)] >= 0 }) {
                symbols += bytes.map { byteTokens[Int($0)] }
                continue
            }
            guard let id = pipeline.unknownToken else { continue }
            if let pending = unknown, !pipeline.fuseUnknown { symbols.append(pending) }
            unknown = id
        }
        if let pending = unknown { symbols.append(pending) }
        return mergeAll(symbols)
    }

    /// The text of `tokens` as `tokenizers`' `decode` gives it (special tokens kept unless `skippingSpecialTokens`,
    /// which is the library's default); ids without a token are left out.
    public func decode(_ tokens: [Int], skippingSpecialTokens: Bool) -> String {
        guard let pipeline else { return decode(tokens) }
        let special = Set(pipeline.added.tokens.filter(\.special).map(\.id))
        let strings = tokens.compactMap { id -> String? in
            guard id >= 0, id < pipeline.tokens.count, !(skippingSpecialTokens && special.contains(id)) else { return nil }
            return pipeline.tokens[id]
        }
        guard let decoder = pipeline.decoder else { return strings.joined(separator: " ") }
        return decoder.decodeChain(strings).joined()
    }

    /// The string of each token (the vocabulary's spelling: `Ġthe`, `▁the`, `<0x0A>`, `<|im_start|>`).
    public func tokenStrings(_ tokens: [Int]) -> [String] {
        tokens.map { id in
            if let pipeline { return id >= 0 && id < pipeline.tokens.count ? pipeline.tokens[id] ?? "" : "" }
            return id >= 0 && id < tokenBytes.count ? Self.gpt2Text(tokenBytes[id]) : ""
        }
    }
}
