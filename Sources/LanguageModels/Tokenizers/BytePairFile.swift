import Foundation

/// A BPE `tokenizer.json` of any family this package applies: byte-level with any `Split` regex (Llama 3, Qwen2,
/// GPT-4-style), SentencePiece-style with byte fallback (Llama 2, TinyLlama, Mistral), added and special tokens.
/// Read strictly; written back as it was read.
extension BytePairTokenizer {
    /// Whether the file is GPT-2's BPE as this package writes it (ByteLevel pre-split, no normalizer, no option,
    /// at most `<|endoftext|>` added inside the vocabulary), read into the plain form; others get a pipeline.
    static func isPlainGPT2(_ file: JSONField) throws -> Bool {
        guard try file.optionalMember("normalizer") == nil, let pre = try file.optionalMember("pre_tokenizer"),
              try pre.member("type").string() == "ByteLevel", try pre.optionalMember("use_regex")?.bool() ?? true else { return false }
        for key in ["post_processor", "decoder"] {
            if let step = try file.optionalMember(key), try step.member("type").string() != "ByteLevel" { return false }
        }
        let model = try file.member("model")
        if try model.optionalMember("ignore_merges")?.bool() == true || model.optionalMember("byte_fallback")?.bool() == true {
            return false
        }
        let vocabulary = try model.member("vocab")
        for token in try file.optionalMember("added_tokens")?.elements() ?? [] {
            let content = try token.member("content").string()
            guard content == endOfTextText, let id = try vocabulary.optionalMember(content)?.int(),
                  id == (try token.member("id").int()) else { return false }
        }
        return true
    }

    /// Reads a BPE file with its normalizer, pre-tokenizer, added tokens, post-processor and decoder.
    init(pipelineFile file: JSONField) throws {
        let model = try file.member("model")
        if let dropout = try model.optionalMember("dropout"), try dropout.double() != 0 { throw dropout.fail("is set; this package does not drop merges") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let field = try model.optionalMember(key), try field.string() != "" { throw field.fail("is set; this package's BPE has none") }
        }
        let normalizer = try file.optionalMember("normalizer")?.normalizer()
        let preTokenizer = try file.optionalMember("pre_tokenizer")?.preTokenizer()
        let byteLevel = preTokenizer?.isByteLevel ?? false
        let limit = ModelConfiguration.maximumVocabSize
        let vocabulary = try model.member("vocab")
        guard case .object(let members) = vocabulary.value, members.count <= limit else {
            throw vocabulary.fail("must be an object of at most \(limit) tokens")
        }
        var idOf: [ExactText: Int] = [:], stringOf: [Int: String] = [:]
        // The model's ids are 0 to n-1, each once; added tokens may follow with gaps.
        for (id, entry) in try vocabulary.vocabularyByID().enumerated() {
            guard entry.token.utf8.count <= Self.maximumTokenBytes else { throw entry.field.fail("is longer than \(Self.maximumTokenBytes) bytes") }
            (idOf[ExactText(entry.token)], stringOf[id]) = (id, entry.token)
        }
        var added: [AddedToken] = []
        for field in try file.optionalMember("added_tokens")?.elements() ?? [] {
            let token = try field.addedToken()
            guard (0..<limit).contains(token.id) else { throw try field.member("id").fail("is \(token.id), outside 0..<\(limit)") }
            if let other = stringOf[token.id], ExactText(other) != ExactText(token.content) {
                throw try field.member("id").fail("is \(token.id), which the vocabulary gives to another token")
            }
            guard token.content.utf8.count <= Self.maximumTokenBytes else { throw field.fail("is longer than \(Self.maximumTokenBytes) bytes") }
            stringOf[token.id] = token.content
            added.append(token)
        }
        let size = (stringOf.keys.max() ?? -1) + 1
        var tokens = [String?](repeating: nil, count: size)
        for (id, token) in stringOf { tokens[id] = token }
        let addedIDs = Set(added.map(\.id))
        var tokenBytes = [[UInt8]](repeating: [], count: size), idOfText: [[UInt8]: Int] = [:]
        for (id, token) in stringOf {
            let bytes = addedIDs.contains(id) ? Array(token.utf8) : byteLevel ? Self.bytes(ofGPT2Text: token) : Self.bytes(ofPiece: token)
            tokenBytes[id] = bytes
            guard !addedIDs.contains(id) || idOf[ExactText(token)] == id else { continue }
            let key = byteLevel ? bytes : Array(token.utf8)
            if let known = idOfText[key], known < id { continue }
            idOfText[key] = id
        }
        let merges = try model.member("merges").mergePairs().enumerated().map { rank, pair -> [Int] in
            guard let left = idOf[ExactText(pair.left)], let right = idOf[ExactText(pair.right)],
                  let result = idOf[ExactText(pair.left + pair.right)] else {
                throw JSONFieldError(path: "model.merges[\(rank)]", reason: "uses a token missing from the vocabulary")
            }
            return [left, right, result]
        }
        let byteFallback = try model.optionalMember("byte_fallback")?.bool() ?? false
        let byteTokens: [Int] = byteLevel ? Self.gpt2ByteCharacters.map { idOf[ExactText(String($0))] ?? -1 }
            : byteFallback ? (0..<256).map { idOf[ExactText(String(format: "<0x%02X>", $0))] ?? -1 } : []
        var unknown: Int?
        if let field = try model.optionalMember("unk_token") {
            guard let id = idOf[ExactText(try field.string())] else { throw field.fail("names a token outside the vocabulary") }
            unknown = id
        }
        let addedVocabulary = AddedVocabulary(added, normalizer: normalizer)
        func id(_ token: String) -> Int? { added.first { ExactText($0.content) == ExactText(token) }?.id ?? idOf[ExactText(token)] }
        let pipeline = TextPipeline(
            normalizer: normalizer, preTokenizer: preTokenizer, added: addedVocabulary,
            postProcessor: try file.optionalMember("post_processor")?.postProcessor(id: id) ?? PostProcessor(),
            decoder: try file.optionalMember("decoder")?.decoder(), tokens: tokens,
            ignoreMerges: try model.optionalMember("ignore_merges")?.bool() ?? false, byteFallback: byteFallback,
            unknownToken: unknown, fuseUnknown: try model.optionalMember("fuse_unk")?.bool() ?? false, idOfText: idOfText,
            file: file.value)
        for id in pipeline.postProcessor.prefix + pipeline.postProcessor.suffix where !(0..<size).contains(id) {
            throw JSONFieldError(path: "post_processor", reason: "adds the id \(id), outside the vocabulary")
        }
        self.init(tokenBytes: tokenBytes, byteTokens: byteTokens, merges: merges, pipeline: pipeline)
    }

    /// The bytes a byte-level token stands for; a token with a character outside GPT-2's byte alphabet (an added
    /// token's) stands for its UTF-8, as the ByteLevel decoder reads it.
    static func bytes(ofGPT2Text token: String) -> [UInt8] {
        let mapped = token.unicodeScalars.map { gpt2ByteOfScalar[$0.value] }
        return mapped.allSatisfy { $0 != nil } ? mapped.map { $0! } : Array(token.utf8)
    }

    /// The bytes a SentencePiece-style token stands for: `<0xAB>` its byte, else its UTF-8 with "▁" as a space.
    static func bytes(ofPiece token: String) -> [UInt8] {
        if let byte = fallbackByte(token) { return [byte] }
        return Array(replacingScalars(token, "\u{2581}", " ").utf8)
    }

    /// The byte each of GPT-2's stand-in characters stands for.
    static let gpt2ByteOfScalar: [UInt32: UInt8] = Dictionary(uniqueKeysWithValues: gpt2ByteCharacters.enumerated().map {
        ($1.value, UInt8($0))
    })
}
