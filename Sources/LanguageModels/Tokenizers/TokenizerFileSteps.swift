import Foundation

/// Reading the steps of a `tokenizer.json` around its model: `normalizer`, `pre_tokenizer`, `decoder`,
/// `post_processor` and `added_tokens`. Each is read strictly: a type this package does not apply as `tokenizers`
/// does is refused naming it, and a value of the wrong type names its field.
extension JSONField {
    func normalizer() throws -> Normalizer {
        switch try member("type").string() {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Prepend": return .prepend(try member("prepend").string())
        case "Replace":
            let (pattern, content) = try literalReplacement()
            return .replace(pattern, with: content)
        case "Sequence": return .sequence(try member("normalizers").elements().map { try $0.normalizer() })
        case let other: throw try member("type").fail("is \(String(other.prefix(40)).debugDescription), a normalizer this package does not apply")
        }
    }

    func preTokenizer() throws -> PreTokenizer {
        switch try member("type").string() {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try optionalMember("add_prefix_space")?.bool() ?? true,
                              useRegex: try optionalMember("use_regex")?.bool() ?? true)
        case "Split":
            let pattern = try member("pattern")
            let behavior = try member("behavior")
            guard let splitBehavior = PreTokenizer.SplitBehavior(rawValue: try behavior.string()) else {
                throw behavior.fail("is \(String(try behavior.string().prefix(40)).debugDescription), not one of "
                    + PreTokenizer.SplitBehavior.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return .split(try pattern.splitPattern(), behavior: splitBehavior, invert: try optionalMember("invert")?.bool() ?? false)
        case "Metaspace":
            return .metaspace(replacement: try member("replacement").character(), prependScheme: try prependScheme(),
                              split: try optionalMember("split")?.bool() ?? true)
        case "Sequence": return .sequence(try member("pretokenizers").elements().map { try $0.preTokenizer() })
        case let other:
            throw try member("type").fail("is \(String(other.prefix(40)).debugDescription), a pre-tokenizer this package does not apply")
        }
    }

    func decoder() throws -> TokenDecoder {
        switch try member("type").string() {
        case "ByteLevel": return .byteLevel
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Replace":
            let (pattern, content) = try literalReplacement()
            return .replace(pattern, with: content)
        case "Strip":
            let (start, stop) = (try member("start").int(), try member("stop").int())
            guard start >= 0, stop >= 0 else { throw fail("must strip a count of characters of 0 or more") }
            return .strip(try member("content").character(), start: start, stop: stop)
        case "Metaspace": return .metaspace(replacement: try member("replacement").character(), prependScheme: try prependScheme())
        case "Sequence": return .sequence(try member("decoders").elements().map { try $0.decoder() })
        case let other: throw try member("type").fail("is \(String(other.prefix(40)).debugDescription), a decoder this package does not apply")
        }
    }

    /// The special tokens put around a single text; `id` finds a token's id by its string.
    func postProcessor(id: (String) -> Int?) throws -> PostProcessor {
        func token(_ field: JSONField) throws -> Int {
            guard let found = id(try field.string()) else { throw field.fail("names a token outside the vocabulary") }
            return found
        }
        switch try member("type").string() {
        case "ByteLevel": return PostProcessor()
        case "RobertaProcessing", "BertProcessing":
            let (cls, sep) = (try member("cls").elements(), try member("sep").elements())
            guard cls.count == 2, sep.count == 2 else { throw fail("must name cls and sep as [token, id]") }
            return PostProcessor(prefix: [try cls[1].int()], suffix: [try sep[1].int()])
        case "TemplateProcessing":
            var specials: [String: [Int]] = [:]
            for (name, special) in try member("special_tokens").members() { specials[name] = try special.member("ids").elements().map { try $0.int() } }
            var processor = PostProcessor(), seenSequence = false
            for piece in try member("single").elements() {
                if let sequence = try piece.optionalMember("Sequence") {
                    guard try sequence.member("id").string() == "A", !seenSequence else { throw sequence.fail("must be the one sequence A") }
                    seenSequence = true
                } else {
                    let name = try piece.member("SpecialToken").member("id")
                    guard let ids = specials[try name.string()] else { throw name.fail("is not among special_tokens") }
                    if seenSequence { processor.suffix += ids } else { processor.prefix += ids }
                }
            }
            return processor
        case "Sequence":
            return try member("processors").elements().reduce(PostProcessor()) { outer, step in
                let inner = try step.postProcessor(id: id)
                return PostProcessor(prefix: inner.prefix + outer.prefix, suffix: outer.suffix + inner.suffix)
            }
        case let other:
            throw try member("type").fail("is \(String(other.prefix(40)).debugDescription), a post-processor this package does not apply")
        }
    }

    /// One entry of `added_tokens`.
    func addedToken() throws -> AddedToken {
        let content = try member("content").string()
        guard !content.isEmpty else { throw try member("content").fail("is empty") }
        return AddedToken(id: try member("id").int(), content: content, special: try optionalMember("special")?.bool() ?? false,
                          singleWord: try optionalMember("single_word")?.bool() ?? false,
                          leftStrip: try optionalMember("lstrip")?.bool() ?? false,
                          rightStrip: try optionalMember("rstrip")?.bool() ?? false,
                          normalized: try optionalMember("normalized")?.bool() ?? true)
    }

    private func splitPattern() throws -> SplitPattern {
        let (source, isRegex): (JSONField, Bool) = try optionalMember("Regex").map { ($0, true) } ?? (member("String"), false)
        let text = try source.string()
        guard !text.isEmpty else { throw source.fail("is empty") }
        do {
            return try SplitPattern(text, isRegex: isRegex)
        } catch {
            throw source.fail("is not a regular expression this package compiles (ICU's syntax): \(error)")
        }
    }

    /// `Replace`'s `{"String": ...}` pattern and content; a `Regex` pattern is refused.
    private func literalReplacement() throws -> (String, String) {
        let pattern = try member("pattern")
        if try pattern.optionalMember("Regex") != nil { throw pattern.fail("is a Regex; this package replaces String patterns only") }
        let text = try pattern.member("String").string()
        guard !text.isEmpty else { throw pattern.fail("is empty") }
        return (text, try member("content").string())
    }

    private func prependScheme() throws -> PreTokenizer.PrependScheme {
        if let scheme = try optionalMember("prepend_scheme") {
            guard let value = PreTokenizer.PrependScheme(rawValue: try scheme.string()) else { throw scheme.fail("must be first, always or never") }
            return value
        }
        // Older files: add_prefix_space true is "always".
        return try optionalMember("add_prefix_space")?.bool() == false ? .never : .always
    }

    private func character() throws -> Unicode.Scalar {
        let text = try string()
        guard text.unicodeScalars.count == 1, let scalar = text.unicodeScalars.first else { throw fail("must be one character") }
        return scalar
    }
}
