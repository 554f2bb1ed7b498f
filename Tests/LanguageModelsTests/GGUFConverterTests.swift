import Foundation
@testable import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// GGUF files written by llama.cpp's own converter (`convert_hf_to_gguf.py`, Scripts/make_gguf_family_fixtures.py)
/// from random transformers models: imported here, their logits equal transformers' (f32: 1e-4; Q8_0: close) and
/// their tokenizers give transformers' ids. Then hostile files: each refused with a typed error naming the field.
@Suite struct GGUFConverterTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("gguf_families")

    struct Golden: Decodable {
        let ids: [Int], positions: [Int], logits: [Float], vocab: Int, text: String
        let text_ids: [Int]
        /// llama.cpp's ids for the GGUF: the reference where the converter changed the tokenizer (the llama file's
        /// merges become equal SentencePiece scores, which llama.cpp joins leftmost first).
        let llama_cpp_ids: [Int]?
    }

    static let golden = try! JSONDecoder().decode([String: Golden].self,
                                                  from: Data(contentsOf: fixtures.appendingPathComponent("golden.json")))

    static func imported(_ file: String) throws -> Checkpoint {
        let url = fixtures.appendingPathComponent(file)
        #expect(try ModelFormats.detect(url).name == "gguf")
        return try GGUFFormat().read(url, tokenizer: nil, configuration: nil)
    }

    @Test(arguments: [("llama", "llama.gguf", Float(1e-4)), ("qwen2", "qwen2.gguf", 1e-4), ("qwen3", "qwen3.gguf", 1e-4),
                      ("llama", "llama_q8_0.gguf", 0.2)])
    func logitsAndTokensEqualTransformers(name: String, file: String, tolerance: Float) throws {
        let golden = Self.golden[name]!
        let checkpoint = try Self.imported(file)
        #expect(checkpoint.family == name)
        #expect(checkpoint.model.configuration.vocabSize == golden.vocab)
        let ids = try checkpoint.tokenizer.encode(golden.text)
        #expect(ids == golden.llama_cpp_ids ?? golden.text_ids, "\(name): llama.cpp's ids, ours \(ids)")
        if name != "llama" { #expect(ids == golden.text_ids, "\(name): byte-level files keep transformers' ids") }
        #expect(checkpoint.tokenizer.decode(golden.text_ids) == golden.text)
        let logits = withoutGradient { checkpoint.model.forward(golden.ids).logits.values }
        for (index, position) in golden.positions.enumerated() {
            let row = Array(logits[(position * golden.vocab)..<((position + 1) * golden.vocab)])
            let reference = Array(golden.logits[(index * golden.vocab)..<((index + 1) * golden.vocab)])
            let result = compare(row, reference, absolute: tolerance)
            #expect(result.passed, "\(file) position \(position): \(result)")
        }
        if name == "llama" { #expect(checkpoint.companionFiles["chat_template.jinja"] != nil) }
    }

    @Test(arguments: [("llama.gguf", "llama", nil as String?), ("qwen2.gguf", "gpt2", "qwen2"), ("qwen3.gguf", "gpt2", "llama-bpe")])
    func converterFilesExportBackWithTheirTokenizer(file: String, model: String, pre: String?) throws {
        let checkpoint = try Self.imported(file)
        let (back, written) = try GGUFRoundTripTests.roundTrip(checkpoint, type: .f32)
        #expect(try written.string("tokenizer.ggml.model") == model)
        #expect(try written.string("tokenizer.ggml.pre") == pre)
        // SentencePiece's scores cannot order every merge as a BPE's ranks do: its merges come back in another order.
        if model == "gpt2" { #expect(back.tokenizer == checkpoint.tokenizer, "\(file): the same tokenizer back") }
        let text = Self.golden[file.replacingOccurrences(of: ".gguf", with: "")]!.text
        #expect(try back.tokenizer.encode(text) == checkpoint.tokenizer.encode(text))
        #expect(back.companionFiles["chat_template.jinja"] == checkpoint.companionFiles["chat_template.jinja"])
        #expect(try written.integer("tokenizer.ggml.eos_token_id") == GGUF.File.read(Self.fixtures.appendingPathComponent(file))
            .integer("tokenizer.ggml.eos_token_id"))
    }

    @Test func tokenizersAndScalingThisPackageDoesNotReadAreRefusedByName() throws {
        let url = temporaryDirectory("gguf-refusals").appendingPathExtension("gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        let tokens: [(key: String, value: GGUF.Value)] = [("general.architecture", .string("qwen2")),
                                                           ("tokenizer.ggml.tokens", .strings(["a", "b"]))]
        let cases: [([(key: String, value: GGUF.Value)], String)] = [
            ([("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("deepseek-llm"))], "tokenizer.ggml.pre"),
            ([("tokenizer.ggml.model", .string("bert"))], "tokenizer.ggml.model"),
            ([("tokenizer.ggml.model", .string("llama"))], "tokenizer.ggml.scores"),
        ]
        for (keys, field) in cases {
            try GGUF.write(metadata: tokens + keys, tensors: [], to: url)
            do {
                _ = try GGUFFormat().read(url, tokenizer: nil, configuration: nil)
                Issue.record("\(field): read")
            } catch GPTError.invalidGGUF(let named, _) {
                #expect(named == field)
            }
        }
    }

    // MARK: - Hostile files

    /// A small valid file to break: header, two keys, one f32 tensor `[2, 32]` at offset 0.
    static func valid() throws -> Data {
        try GGUF.encode(metadata: [("general.architecture", .string("gpt2")), ("general.alignment", .uint32(32))],
                        tensors: [GGUF.TensorEntry(name: "t.weight", shape: [2, 32], type: .f32, values: Array(repeating: 1, count: 64))])
    }

    static func field(_ data: Data) -> String? {
        do { _ = try GGUF.File(data); return nil } catch GPTError.invalidGGUF(let field, _) { return field } catch { return "other: \(error)" }
    }

    /// `data` with the little-endian `value` written over the bytes at `offset`.
    static func patched<T: FixedWidthInteger>(_ data: Data, at offset: Int, _ value: T) -> Data {
        var copy = data
        withUnsafeBytes(of: value.littleEndian) { copy.replaceSubrange(offset..<(offset + MemoryLayout<T>.size), with: $0) }
        return copy
    }

    @Test func hostileHeadersAreRefusedNamingTheField() throws {
        let data = try Self.valid()
        #expect(Self.field(data) == nil)
        // The tensor entry: after the header (24 bytes) and the two keys.
        let keys = 8 + 20 + 4 + 8 + 4 + 8 + 17 + 4 + 4
        let tensorStart = 24 + keys, dimensions = tensorStart + 8 + 8, type = dimensions + 4 + 16, offset = type + 4
        #expect(try GGUF.File(data).tensors[0].shape == [2, 32], "the offsets of this test are right")
        let cases: [(String, Data, String)] = [
            ("truncated", data.prefix(data.count - 10), "t.weight"),
            ("truncated header", data.prefix(30), "tensor_count"),
            ("bad magic", Self.patched(data, at: 0, UInt32(0x1234_5678)), "magic"),
            ("version 1", Self.patched(data, at: 4, UInt32(1)), "version"),
            ("absurd tensor count", Self.patched(data, at: 8, UInt64.max), "tensor_count"),
            ("absurd key count", Self.patched(data, at: 16, UInt64(1) << 60), "kv_count"),
            ("absurd string length", Self.patched(data, at: 24, UInt64.max), "a metadata key"),
            ("unknown value type", Self.patched(data, at: 24 + 8 + 20, UInt32(99)), "general.architecture"),
            ("five dimensions", Self.patched(data, at: dimensions, UInt32(5)), "t.weight"),
            ("unknown tensor type", Self.patched(data, at: type, UInt32(12)), "t.weight"),
            ("offset past the end", Self.patched(data, at: offset, UInt64(4096)), "t.weight"),
            ("misaligned offset", Self.patched(data, at: offset, UInt64(4)), "t.weight"),
            ("huge dimension", Self.patched(data, at: dimensions + 4, UInt64(1) << 62), "t.weight"),
            ("alignment not a power of two", Self.patched(data, at: 24 + 8 + 20 + 4 + 8 + 4 + 8 + 17 + 4, UInt32(48)),
             "general.alignment"),
        ]
        for (what, bytes, expected) in cases { #expect(Self.field(bytes) == expected, "\(what)") }
    }

    @Test func overlappingAndRepeatedTensorsAreRefused() throws {
        let two = try GGUF.encode(metadata: [], tensors: [
            GGUF.TensorEntry(name: "a.weight", shape: [64], type: .f32, values: Array(repeating: 1, count: 64)),
            GGUF.TensorEntry(name: "b.weight", shape: [64], type: .f32, values: Array(repeating: 2, count: 64)),
        ])
        let secondOffset = 24 + (8 + 8 + 4 + 8 + 4 + 8) + (8 + 8 + 4 + 8 + 4)
        #expect(try GGUF.File(two).tensors[1].offset == 256)
        #expect(Self.field(Self.patched(two, at: secondOffset, UInt64(128))) == "b.weight", "overlaps a.weight")
        var renamed = two
        renamed[24 + 40 + 8] = UInt8(ascii: "a")  // "b.weight" spelled "a.weight"
        let names = try? GGUF.File(renamed)
        #expect(names == nil)
    }

    @Test func architecturesThisPackageDoesNotHoldAreRefusedByName() throws {
        let url = temporaryDirectory("gguf-arch").appendingPathExtension("gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try GGUF.write(metadata: [("general.architecture", .string("mamba"))], tensors: [], to: url)
        #expect(throws: GPTError.invalidGGUF(field: "general.architecture", reason:
            "is \"mamba\"; this package reads gpt2, llama, qwen2 and qwen3")) {
            try GGUFFormat().read(url, tokenizer: nil, configuration: nil)
        }
    }
}
