import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

/// Hugging Face's files (`config.json`, `model.safetensors.index.json`, `vocab.json`, `merges.txt`,
/// `tokenizer.json`) and this package's `config.json`, read as an attacker or an unlucky user would hand them over:
/// overflowing integers, ids outside the vocabulary, merges that multiply a file's size, Windows line ends, fields of
/// the wrong type or missing. Each gets a typed error naming the field, or the right result; never a trap or a
/// silent default.
@Suite struct HuggingFaceReaderTests {
    static let tied = HuggingFaceTests.fixtures.appendingPathComponent("tied")

    /// A copy of the tied GPT-2 fixture with `edit` applied to its config.json.
    static func folder(editing edit: (inout [String: Any]) -> Void) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hf-reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: tied.appendingPathComponent("model.safetensors"),
                                         to: folder.appendingPathComponent("model.safetensors"))
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: tied.appendingPathComponent("config.json"))) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        return folder
    }

    /// Expects `body` to throw a `GPTError` whose message names `field`.
    static func expectRefusal(naming field: String, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("accepted; expected an error naming \(field)", sourceLocation: sourceLocation)
        } catch let error as GPTError {
            #expect("\(error)".contains(field), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("not a GPTError: \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - Hugging Face's config.json

    @Test(arguments: [(1 << 61, 1 << 62), (1 << 61, 4), (Int.max, 4), (Int.max / 4 + 1, 0), (16, Int.max)])
    func widthsThatOverflowAreRefused(width: Int, inner: Int) throws {
        // 4 x n_embd overflowed (a trap) before the sizes were checked.
        let folder = try Self.folder { $0["n_embd"] = width; $0["n_inner"] = inner }
        defer { try? FileManager.default.removeItem(at: folder) }
        Self.expectRefusal(naming: "n_") { _ = try HuggingFaceGPT2.load(folder) }
    }

    @Test(arguments: [
        ("tie_word_embeddings", "\"yes\""), ("tie_word_embeddings", "1"), ("n_layer", "\"2\""), ("n_head", "2.5"),
        ("vocab_size", "null"), ("activation_function", "3"), ("activation_function", "\"swish\""),
        ("layer_norm_epsilon", "\"1e-5\""), ("n_inner", "\"64\""), ("scale_attn_weights", "false"),
        ("scale_attn_by_inverse_layer_idx", "true"), ("add_cross_attention", "true"), ("model_type", "\"llama\""),
    ])
    func configFieldsAreTyped(key: String, json: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        let folder = try Self.folder { $0[key] = value }
        defer { try? FileManager.default.removeItem(at: folder) }
        Self.expectRefusal(naming: key) { _ = try HuggingFaceGPT2.load(folder) }
    }

    @Test(arguments: ["vocab_size", "n_positions", "n_layer", "n_head", "n_embd", "model_type"])
    func requiredConfigKeysAreNamed(key: String) throws {
        let folder = try Self.folder { $0[key] = nil }
        defer { try? FileManager.default.removeItem(at: folder) }
        Self.expectRefusal(naming: key) { _ = try HuggingFaceGPT2.load(folder) }
    }

    @Test func transformersDefaultsApplyToKeysLeftOut() throws {
        // GPT2Config's own defaults: gelu_new, 1e-5, tied, n_inner 4 x n_embd; keys this package does not know are fine.
        let folder = try Self.folder { config in
            for key in ["activation_function", "layer_norm_epsilon", "tie_word_embeddings", "n_inner"] { config[key] = nil }
            config["some_future_key"] = ["nested": true]
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let (configuration, _) = try HuggingFaceGPT2.load(folder)
        #expect(configuration.activation == .geluTanh && configuration.tiedEmbeddings)
        #expect(try HuggingFaceGPT2.load(Self.tied).configuration == configuration)
    }

    // MARK: - model.safetensors.index.json

    /// The tied fixture split into two shards by name, with `index` as the index's weight_map (nil: the true one).
    static func shardedFolder(extra: [String: String] = [:], duplicate: String? = nil) throws -> URL {
        let folder = try Self.folder { _ in }
        let single = folder.appendingPathComponent("model.safetensors")
        let tensors = try SafeTensors.read(single).tensors
        try FileManager.default.removeItem(at: single)
        let names = tensors.keys.sorted()
        var map: [String: String] = extra
        for (index, part) in [Array(names.prefix(names.count / 2)), Array(names.dropFirst(names.count / 2))].enumerated() {
            let file = "model-0000\(index + 1)-of-00002.safetensors"
            var stored = part.map { (name: $0, tensor: Tensor(shape: tensors[$0]!.shape, values: tensors[$0]!.values)) }
            for name in part { map[name] = file }
            if let duplicate, index == 1 {  // a second copy, not listed for this shard, with other values
                let original = tensors[duplicate]!
                stored.append((duplicate, Tensor(shape: original.shape, values: original.values.map { $0 + 1 })))
            }
            try SafeTensors.write(stored, to: folder.appendingPathComponent(file))
        }
        let index: [String: Any] = ["metadata": ["total_size": 0], "weight_map": map]
        try JSONSerialization.data(withJSONObject: index).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        return folder
    }

    @Test func shardsLoadAsTheSingleFile() throws {
        let folder = try Self.shardedFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sharded = try HuggingFaceGPT2.load(folder).tensors, single = try HuggingFaceGPT2.load(Self.tied).tensors
        #expect(sharded.keys.sorted() == single.keys.sorted())
        for (name, tensor) in single { #expect(sharded[name]?.values == tensor.values, "\(name)") }
    }

    @Test func aTensorInTwoShardsIsRefused() throws {
        // The later shard's copy silently replaced the listed one.
        let folder = try Self.shardedFolder(duplicate: "transformer.h.0.ln_1.weight")
        defer { try? FileManager.default.removeItem(at: folder) }
        Self.expectRefusal(naming: "transformer.h.0.ln_1.weight") { _ = try HuggingFaceGPT2.load(folder) }
    }

    @Test func indexEntriesOutsideTheFolderOrMissingAreRefused() throws {
        for (name, file) in [("ghost", "model-00001-of-00002.safetensors"), ("x", "../model.safetensors"), ("y", "")] {
            let folder = try Self.shardedFolder(extra: [name: file])
            defer { try? FileManager.default.removeItem(at: folder) }
            #expect(throws: GPTError.self, "\(name) -> \(file)") { try HuggingFaceGPT2.load(folder) }
        }
    }

    // MARK: - vocab.json and merges.txt

    /// A small GPT-2 vocabulary (the 256 byte tokens, three merges, `<|endoftext|>`) and its merges.
    static func gpt2Files() throws -> (vocabulary: [String: Int], merges: String) {
        let trained = try BytePairTokenizer(training: "the theme then there", vocabularySize: 259)
        var vocabulary = try JSONDecoder().decode([String: Int].self, from: trained.gpt2Files().vocabulary)
        vocabulary["<|endoftext|>"] = 259
        return (vocabulary, try trained.gpt2Files().merges)
    }

    @Test(arguments: [Int.max, Int.min, -1, 260, 1 << 40])
    func vocabularyIdsOutsideTheCountAreRefused(id: Int) throws {
        // An id of Int.max made `max() + 1` overflow (a trap), also in `gpt prepare --tokenizer gpt2`.
        var (vocabulary, merges) = try Self.gpt2Files()
        vocabulary["<|endoftext|>"] = id
        #expect(throws: GPTError.self) { try BytePairTokenizer(gpt2Vocabulary: JSONEncoder().encode(vocabulary), merges: merges) }
    }

    @Test func repeatedVocabularyIdsAreRefused() throws {
        var (vocabulary, merges) = try Self.gpt2Files()
        vocabulary["<|endoftext|>"] = 258  // the id of a merge's token
        vocabulary["<|pad|>"] = 259
        #expect(throws: GPTError.self) { try BytePairTokenizer(gpt2Vocabulary: JSONEncoder().encode(vocabulary), merges: merges) }
    }

    @Test func windowsLineEndsReadTheSameMerges() throws {
        // "\r\n" is one Character: split on Characters, the file was one line and imported with no merges.
        let (vocabulary, merges) = try Self.gpt2Files()
        let data = try JSONEncoder().encode(vocabulary)
        let unix = try BytePairTokenizer(gpt2Vocabulary: data, merges: merges)
        let windows = try BytePairTokenizer(gpt2Vocabulary: data, merges: merges.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(unix.merges.count == 3)
        #expect(windows == unix)
        #expect(windows.encode("the theme") == unix.encode("the theme"))
    }

    @Test(arguments: ["#version: 0.2\nt h e\n", "#version: 0.2\nth\n", "#version: 0.2\nt  h\n", "#version: 0.2\nq z\n"])
    func malformedMergeLinesAreRefused(merges: String) throws {
        let (vocabulary, _) = try Self.gpt2Files()
        #expect(throws: GPTError.self) { try BytePairTokenizer(gpt2Vocabulary: JSONEncoder().encode(vocabulary), merges: merges) }
    }

    // MARK: - tokenizer.json

    /// The small GPT-2 tokenizer as Hugging Face's tokenizer.json, with `edit` applied to its `model`.
    static func tokenizerJSON(editingModel edit: (inout [String: Any]) -> Void) throws -> Data {
        let (vocabulary, merges) = try Self.gpt2Files()
        let tokenizer = try BytePairTokenizer(gpt2Vocabulary: JSONEncoder().encode(vocabulary), merges: merges)
        var file = try JSONSerialization.jsonObject(with: tokenizer.huggingFaceJSON()) as! [String: Any]
        var model = file["model"] as! [String: Any]
        edit(&model)
        file["model"] = model
        return try JSONSerialization.data(withJSONObject: file)
    }

    @Test(arguments: [Int.max, -1, 260, 9_007_199_254_740_993])
    func tokenizerJSONIdsOutsideTheCountAreRefused(id: Int) throws {
        let data = try Self.tokenizerJSON { model in
            var vocabulary = model["vocab"] as! [String: Any]
            vocabulary["<|endoftext|>"] = id
            model["vocab"] = vocabulary
        }
        Self.expectRefusal(naming: "vocab") { _ = try Tokenizer(huggingFaceJSON: data, source: "tokenizer.json") }
    }

    @Test(arguments: ["{}", "\"t h\"", "null", "3", "[[\"t\"]]", "[\"t h e\"]"])
    func mergesThatAreNotAListOfPairsAreRefused(json: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        let data = try Self.tokenizerJSON { $0["merges"] = value }
        Self.expectRefusal(naming: "merges") { _ = try Tokenizer(huggingFaceJSON: data, source: "tokenizer.json") }
    }

    @Test func mergesAsPairsReadAsMergesAsLines() throws {
        let lines = try Tokenizer(huggingFaceJSON: Self.tokenizerJSON { _ in }, source: "lines")
        let pairs = try Tokenizer(huggingFaceJSON: Self.tokenizerJSON { model in
            model["merges"] = (model["merges"] as! [String]).map { $0.split(separator: " ").map(String.init) }
        }, source: "pairs")
        #expect(lines == pairs)
    }

    @Test func mergesThatMultiplyTheFileAreBoundedWhileBuilding() throws {
        // 100 tokens of 2,048 bytes (a chain of doublings each), then every pair of them: 10,000 tokens of 4,096 bytes,
        // 41 MB from a file of 230 KB (legal merges, each token within the per-token bound).
        var merges: [[Int]] = [], next = 256, long: [Int] = []
        for byte in 0..<100 {
            var token = byte
            for _ in 0..<11 {
                merges.append([token, token, next])
                (token, next) = (next, next + 1)
            }
            long.append(token)
        }
        for left in long { for right in long { merges.append([left, right, next]); next += 1 } }
        let file: [String: Any] = ["kind": "bpe", "byte_tokens": Array(0..<256), "merges": merges, "vocab_size": next]
        let data = try JSONSerialization.data(withJSONObject: file)
        #expect(data.count < 300_000)
        #expect(throws: GPTError.self) { try Tokenizer(huggingFaceJSON: data, source: "tokenizer.json") }
        #expect(throws: GPTError.self) { try BytePairTokenizer(byteTokens: Array(0..<256), merges: merges, vocabularySize: next) }
    }

    @Test func aRepeatedPairIsRefused() {
        // The later merge silently took over the pair's rank and result.
        #expect(throws: GPTError.self) {
            try BytePairTokenizer(byteTokens: Array(0..<256), merges: [[97, 98, 256], [97, 98, 257]], vocabularySize: 258)
        }
    }

    @Test func aTokenizerFileLargerThanTheBoundIsRefusedBeforeParsing() throws {
        let data = Data(repeating: UInt8(ascii: " "), count: BytePairTokenizer.maximumFileBytes + 1)
        Self.expectRefusal(naming: "tokenizer file") { _ = try Tokenizer(huggingFaceJSON: data, source: "tokenizer.json") }
    }
}
