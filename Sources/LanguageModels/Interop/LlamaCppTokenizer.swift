import Foundation

/// The tokenizer a GGUF file describes (`tokenizer.ggml.*`, read as llama.cpp's `src/llama-vocab.cpp` reads it),
/// as the `tokenizer.json` that says the same, read by this package's own reader:
///
/// | `tokenizer.ggml.model` | becomes |
/// |---|---|
/// | `gpt2` | byte-level BPE: tokens and merges as they are, the pre-split of `tokenizer.ggml.pre` (``preSplits``) |
/// | `llama` | SentencePiece-style BPE with byte fallback: merges from the scores (a pair whose join is a token, by the join's score, highest first, as transformers' converter makes them), `▁` for spaces, `<0xAB>` byte tokens |
///
/// Control and unknown tokens become special added tokens, user-defined tokens added tokens; `add_bos_token` and
/// `add_eos_token` the post-processor. Other models, and a pre-split llama.cpp names but this table does not, are
/// refused naming the key.
enum LlamaCppTokenizer {
    /// `llama_token_type`.
    enum TokenType: Int32 { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    /// `tokenizer.ggml.pre` names and the pre-tokenizer of the `tokenizer.json` they come from (llama.cpp's
    /// `llm_tokenizer_bpe` quotes the regular expressions: these are the originals), and whether a piece that is a
    /// token is kept whole (llama.cpp sets `ignore_merges` for llama3).
    static let preSplits: [(names: [String], split: String?, digits: Bool, ignoreMerges: Bool)] = [
        (["gpt-2"], nil, false, false),
        (["llama-bpe", "llama3", "llama-v3"],
         #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
         false, true),
        (["qwen2"], #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
         false, false),
        (["smollm"], nil, true, false),
    ]

    /// The `pre_tokenizer` of `tokenizer.json` for one of ``preSplits``.
    static func preTokenizer(split: String?, digits: Bool) -> OrderedJSON {
        func byteLevel(_ regex: Bool) -> OrderedJSON {
            .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)),
                     ("use_regex", .bool(regex))])
        }
        func isolated(_ pattern: String) -> OrderedJSON {
            .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(pattern))])),
                     ("behavior", .string("Isolated")), ("invert", .bool(false))])
        }
        let steps = (digits ? [isolated(#"\p{N}"#)] : []) + (split.map { [isolated($0), byteLevel(false)] } ?? [byteLevel(true)])
        return steps.count == 1 ? steps[0] : .object([("type", .string("Sequence")), ("pretokenizers", .array(steps))])
    }

    /// The tokenizer of `file`'s metadata, and the files a chat needs beside it (`chat_template.jinja` from
    /// `tokenizer.chat_template`; `tokenizer_config.json` naming the bos and eos tokens).
    static func read(_ file: GGUF.File) throws -> (tokenizer: Tokenizer, companionFiles: [String: Data]) {
        func fail(_ key: String, _ reason: String) -> GPTError { .invalidGGUF(field: key, reason: reason) }
        guard let model = try file.string("tokenizer.ggml.model") else {
            throw fail("tokenizer.ggml.model", "is missing: the file has no tokenizer")
        }
        guard let tokens = try file.strings("tokenizer.ggml.tokens"), !tokens.isEmpty else {
            throw fail("tokenizer.ggml.tokens", "is missing or empty")
        }
        let types = try file.int32s("tokenizer.ggml.token_type") ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw fail("tokenizer.ggml.token_type", "has \(types.count) entries for \(tokens.count) tokens")
        }
        func type(_ id: Int) -> TokenType { types.isEmpty ? .normal : TokenType(rawValue: types[id]) ?? .normal }
        func tokenID(_ key: String) throws -> Int? {
            guard let id = try file.integer(key) else { return nil }
            guard (0..<tokens.count).contains(id) else { throw fail(key, "is \(id), outside the \(tokens.count) tokens") }
            return id
        }
        let bos = try tokenID("tokenizer.ggml.bos_token_id"), eos = try tokenID("tokenizer.ggml.eos_token_id")
        var modelMembers: [(key: String, value: OrderedJSON)] = [("type", .string("BPE")), ("dropout", .null)]
        var normalizer = OrderedJSON.null, preTokenizer = OrderedJSON.null, decoder: OrderedJSON
        let addsBOS: Bool
        switch model {
        case "gpt2":
            let pre = try file.string("tokenizer.ggml.pre") ?? "(missing)"
            guard let split = preSplits.first(where: { $0.names.contains(pre) }) else {
                throw fail("tokenizer.ggml.pre", "is \(String(pre.prefix(40)).debugDescription), a pre-tokenizer this package does not "
                    + "know; it reads \(preSplits.flatMap(\.names).joined(separator: ", "))")
            }
            guard let merges = try file.strings("tokenizer.ggml.merges") else { throw fail("tokenizer.ggml.merges", "is missing") }
            preTokenizer = Self.preTokenizer(split: split.split, digits: split.digits)
            decoder = .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)),
                               ("use_regex", .bool(true))])
            modelMembers += [("unk_token", .null), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
                             ("ignore_merges", .bool(split.ignoreMerges))]
            modelMembers += [("vocab", .vocabulary(tokens.enumerated().map { ($1, $0) })), ("merges", .array(merges.map(OrderedJSON.string)))]
            addsBOS = try file.bool("tokenizer.ggml.add_bos_token") ?? split.ignoreMerges  // llama.cpp: on for llama3
        case "llama":
            guard let scores = try file.float32s("tokenizer.ggml.scores"), scores.count == tokens.count else {
                throw fail("tokenizer.ggml.scores", "must hold one score per token")
            }
            let spacePrefix = try file.bool("tokenizer.ggml.add_space_prefix") ?? true
            let replace = OrderedJSON.object([("type", .string("Replace")), ("pattern", .object([("String", .string(" "))])),
                                              ("content", .string("▁"))])
            normalizer = spacePrefix
                ? .object([("type", .string("Sequence")), ("normalizers", .array([
                    .object([("type", .string("Prepend")), ("prepend", .string("▁"))]), replace]))])
                : replace
            let back = OrderedJSON.object([("type", .string("Replace")), ("pattern", .object([("String", .string("▁"))])),
                                           ("content", .string(" "))])
            let strip = OrderedJSON.object([("type", .string("Strip")), ("content", .string(" ")), ("start", .number("1")), ("stop", .number("0"))])
            decoder = .object([("type", .string("Sequence")), ("decoders", .array(
                [back, .object([("type", .string("ByteFallback"))]), .fuse] + (spacePrefix ? [strip] : [])))])
            let unknown = try tokenID("tokenizer.ggml.unknown_token_id") ?? tokens.indices.first { type($0) == .unknown }
            modelMembers += [("unk_token", unknown.map { .string(tokens[$0]) } ?? .null), ("fuse_unk", .bool(true)),
                             ("byte_fallback", .bool(true)), ("ignore_merges", .bool(false))]
            let merges = sentencePieceMerges(tokens: tokens, scores: scores) { type($0) == .normal }
            modelMembers += [("vocab", .vocabulary(tokens.enumerated().map { ($1, $0) })),
                             ("merges", .array(merges.map { .array([.string($0.left), .string($0.right)]) }))]
            addsBOS = try file.bool("tokenizer.ggml.add_bos_token") ?? true
        default:
            throw fail("tokenizer.ggml.model", "is \(String(model.prefix(40)).debugDescription); this package reads gpt2 (byte-level BPE) and llama (SentencePiece-style BPE)")
        }
        let added: [OrderedJSON] = tokens.indices.compactMap { id in
            let kind = type(id)
            guard [.control, .unknown, .userDefined].contains(kind) else { return nil }
            return .object([("id", .number(String(id))), ("content", .string(tokens[id])), ("single_word", .bool(false)),
                            ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(false)),
                            ("special", .bool(kind != .userDefined))])
        }
        let addsEOS = try file.bool("tokenizer.ggml.add_eos_token") ?? false
        let post = postProcessor(bos: addsBOS ? bos.map { (tokens[$0], $0) } : nil, eos: addsEOS ? eos.map { (tokens[$0], $0) } : nil)
        let json = OrderedJSON.object([("version", .string("1.0")), ("truncation", .null), ("padding", .null),
                                       ("added_tokens", .array(added)), ("normalizer", normalizer), ("pre_tokenizer", preTokenizer),
                                       ("post_processor", post), ("decoder", decoder), ("model", .object(modelMembers))])
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(file: JSONField(json))
        } catch let error as JSONFieldError {
            throw fail("tokenizer.ggml.tokens", "do not make a tokenizer: \(error)")
        }
        var companions: [String: Data] = [:]
        if let template = try file.string("tokenizer.chat_template") { companions["chat_template.jinja"] = Data(template.utf8) }
        var config: [(key: String, value: OrderedJSON)] = [("add_bos_token", .bool(addsBOS)), ("add_eos_token", .bool(addsEOS))]
        if let bos { config.append(("bos_token", .string(tokens[bos]))) }
        if let eos { config.append(("eos_token", .string(tokens[eos]))) }
        companions["tokenizer_config.json"] = Data(OrderedJSON.object(config).text.utf8)
        return (tokenizer, companions)
    }

    /// `TemplateProcessing` putting `bos` before and `eos` after a text (present even when neither is added: the
    /// file is then read with its pipeline, not as GPT-2's plain files, whose vocabulary must hold all 256 bytes).
    static func postProcessor(bos: (String, Int)?, eos: (String, Int)?) -> OrderedJSON {
        func special(_ token: (String, Int)) -> OrderedJSON {
            .object([("SpecialToken", .object([("id", .string(token.0)), ("type_id", .number("0"))]))])
        }
        let sequence = OrderedJSON.object([("Sequence", .object([("id", .string("A")), ("type_id", .number("0"))]))])
        let single = (bos.map { [special($0)] } ?? []) + [sequence] + (eos.map { [special($0)] } ?? [])
        let specials = [bos, eos].compactMap { $0 }.map { token in
            (key: token.0, value: OrderedJSON.object([("id", .string(token.0)), ("ids", .array([.number(String(token.1))])),
                                                      ("tokens", .array([.string(token.0)]))]))
        }
        return .object([("type", .string("TemplateProcessing")), ("single", .array(single)), ("pair", .array(single)),
                        ("special_tokens", .object(specials))])
    }

    /// Merges for a SentencePiece vocabulary, as transformers' `SentencePieceExtractor`: every split of a token
    /// (one that `mergeable` allows) into two tokens, by the token's score, highest first, then by the ids of the
    /// parts.
    static func sentencePieceMerges(tokens: [String], scores: [Float], mergeable: (Int) -> Bool)
        -> [(left: String, right: String)] {
        var idOf: [ExactText: Int] = [:]
        for (id, token) in tokens.enumerated() where idOf[ExactText(token)] == nil { idOf[ExactText(token)] = id }
        var found: [(score: Float, left: Int, right: Int)] = []
        for (id, token) in tokens.enumerated() where mergeable(id) {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count >= 2 else { continue }
            for cut in 1..<scalars.count {
                let left = String(String.UnicodeScalarView(scalars[..<cut])), right = String(String.UnicodeScalarView(scalars[cut...]))
                if let l = idOf[ExactText(left)], let r = idOf[ExactText(right)] { found.append((scores[id], l, r)) }
            }
        }
        found.sort { ($0.score, -$0.left, -$0.right) > ($1.score, -$1.left, -$1.right) }
        return found.map { (tokens[$0.left], tokens[$0.right]) }
    }
}
