import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// The GGUF writer against llama.cpp's own Python writer (gguf-py: the same bytes, fixture from
/// `Scripts/make_gguf_fixtures.py`) and against the format as the test's own reader decodes it (header, key types,
/// alignment, the tensor table, llama.cpp's `gpt2` names and shapes, the vocabulary's byte-level spelling).
@Suite struct GGUFTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("gguf")

    @Test func writerGivesTheBytesGGUFPyWrites() throws {
        let inputs = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("inputs.json"))) as! [String: [String: Any]]
        func input(_ name: String) -> (shape: [Int], values: [Float]) {
            (inputs[name]!["shape"] as! [Int], (inputs[name]!["values"] as! [Double]).map(Float.init))
        }
        let metadata: [(key: String, value: GGUF.Value)] = [
            ("general.architecture", .string("gpt2")), ("general.alignment", .uint32(32)), ("gpt2.block_count", .uint32(2)),
            ("test.int32", .int32(-7)), ("gpt2.attention.layer_norm_epsilon", .float32(1e-5)),
            ("tokenizer.ggml.add_bos_token", .bool(false)), ("test.true", .bool(true)), ("general.name", .string("swift-gpt ✓")),
            ("tokenizer.ggml.tokens", .strings(["Ċ", "Ġ", "a", "Ã©", "<|endoftext|>"])),
            ("tokenizer.ggml.token_type", .int32s([1, 1, 1, 1, 3])), ("tokenizer.ggml.merges", .strings(["Ã ©"])),
        ]
        let tensors = [("blk.0.attn_qkv.weight", "matrix", GGUF.TensorType.f32), ("blk.0.attn_norm.bias", "vector", .f32),
                       ("token_embd.weight", "half", .f16), ("output.weight", "brain", .bf16)].map { name, key, type in
            GGUF.TensorEntry(name: name, shape: input(key).shape, type: type, values: input(key).values)
        }
        let ours = try GGUF.encode(metadata: metadata, tensors: tensors)
        let theirs = try Data(contentsOf: Self.fixtures.appendingPathComponent("reference.gguf"))
        let at = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(ours == theirs, "\(ours.count) vs \(theirs.count) bytes, first difference at \(at.map(String.init) ?? "the end")")
    }

    @Test func testReaderDecodesTheReference() throws {
        // The reader below is the oracle of the other tests: check it on gguf-py's file first.
        let file = try GGUFFile(Data(contentsOf: Self.fixtures.appendingPathComponent("reference.gguf")))
        #expect(file.version == 3)
        #expect(file.keys.first == "general.architecture")
        #expect(file.types["gpt2.block_count"] == 4 && file.types["test.int32"] == 5 && file.types["general.name"] == 8)
        #expect(file.strings["tokenizer.ggml.tokens"] == ["Ċ", "Ġ", "a", "Ã©", "<|endoftext|>"])
        #expect(file.tensors.map(\.name) == ["blk.0.attn_qkv.weight", "blk.0.attn_norm.bias", "token_embd.weight", "output.weight"])
        #expect(file.tensors[0].dimensions == [5, 3] && file.tensors[2].type == 1 && file.tensors[3].type == 30)
    }

    @Test func charModelExportsInLlamaCppsGPT2Layout() throws {
        var configuration = tinyGPTConfiguration(vocabularySize: 5)
        (configuration.activation, configuration.tiedEmbeddings, configuration.lmHeadBias, configuration.bias) = (.geluTanh, true, false, false)
        var generator = SeededGenerator(seed: 11)
        let model = GPTLanguageModel(configuration, generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(vocabulary: ["\n", " ", "a", "é", "€"]))
        let (metadata, tensors) = try LlamaCppGPT2.export(model, tokenizer: tokenizer)
        let file = try GGUFFile(GGUF.encode(metadata: metadata, tensors: tensors))

        #expect(file.strings["general.architecture"] == ["gpt2"])
        for key in ["gpt2.context_length", "gpt2.embedding_length", "gpt2.feed_forward_length", "gpt2.block_count",
                    "gpt2.attention.head_count", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
            #expect(file.types[key] == 4, "\(key) must be UINT32, as llama.cpp's get_key<uint32_t> requires")
        }
        #expect(file.types["gpt2.attention.layer_norm_epsilon"] == 6)
        #expect(file.numbers["gpt2.context_length"] == 8 && file.numbers["gpt2.feed_forward_length"] == 32)
        // HF tokenizers' ByteLevel spells é "Ã©" and € "âĤ¬"; the merges join their bytes, one pair at a time.
        #expect(file.strings["tokenizer.ggml.tokens"] == ["Ċ", "Ġ", "a", "Ã©", "âĤ¬", "<|endoftext|>"])
        #expect(file.strings["tokenizer.ggml.merges"] == ["Ã ©", "â Ĥ", "âĤ ¬"])
        #expect(file.int32s["tokenizer.ggml.token_type"] == [1, 1, 1, 1, 1, 3])
        #expect(file.numbers["tokenizer.ggml.eos_token_id"] == 5)

        // llama.cpp's gpt2 loader (src/models/gpt2.cpp): these names, these shapes (ne order), biases everywhere.
        var expected: [String: [Int]] = ["token_embd.weight": [8, 6], "position_embd.weight": [8, 8],
                                         "output_norm.weight": [8], "output_norm.bias": [8]]
        for layer in 0..<2 {
            for (name, shape) in [("attn_norm.weight", [8]), ("attn_norm.bias", [8]), ("attn_qkv.weight", [8, 24]),
                                  ("attn_qkv.bias", [24]), ("attn_output.weight", [8, 8]), ("attn_output.bias", [8]),
                                  ("ffn_norm.weight", [8]), ("ffn_norm.bias", [8]), ("ffn_up.weight", [8, 32]),
                                  ("ffn_up.bias", [32]), ("ffn_down.weight", [32, 8]), ("ffn_down.bias", [8])] {
                expected["blk.\(layer).\(name)"] = shape
            }
        }
        #expect(Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.dimensions) }) == expected)
        #expect(file.dataStart % 32 == 0)
        var offset = 0
        for tensor in file.tensors {
            #expect(tensor.offset == offset, "\(tensor.name) starts where the previous one's padding ends")
            offset += (tensor.byteCount + 31) / 32 * 32
        }
        #expect(file.byteCount == file.dataStart + offset)

        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor.values) })
        let embedding = try file.floats("token_embd.weight")
        #expect(Array(embedding[..<40]) == parameters["transformer.wte.weight"]!)
        #expect(embedding[40...].allSatisfy { $0 == 0 }, "the appended <|endoftext|> row is zero")
        #expect(try file.floats("blk.1.attn_qkv.weight") == parameters["transformer.h.1.attn.c_attn.weight"]!)
        #expect(try file.floats("blk.0.ffn_down.weight") == parameters["transformer.h.0.mlp.c_proj.weight"]!)
        #expect(try file.floats("blk.0.ffn_up.bias").allSatisfy { $0 == 0 }, "a model without biases exports zeros")
    }

    @Test func halfPrecisionTypesApplyToMatricesOnly() throws {
        var generator = SeededGenerator(seed: 12)
        var configuration = AttentionTests.tinyConfiguration()
        (configuration.activation, configuration.lmHeadBias) = (.gelu, false)
        let model = GPTLanguageModel(configuration, generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(vocabulary: (0..<11).map { Unicode.Scalar(UInt8(97 + $0)) }))
        for (type, code) in [(GGUF.TensorType.f16, UInt32(1)), (.bf16, 30)] {
            let (metadata, tensors) = try LlamaCppGPT2.export(model, tokenizer: tokenizer, type: type)
            let file = try GGUFFile(GGUF.encode(metadata: metadata, tensors: tensors))
            for tensor in file.tensors { #expect(tensor.type == (tensor.dimensions.count == 2 ? code : 0), "\(tensor.name)") }
            #expect(file.numbers["general.file_type"] == (type == .f16 ? 1 : 32))
            #expect(file.strings["tokenizer.ggml.tokens"]?.last == "<|endoftext|>", "untied: output.weight gets the row too")
            #expect(file.tensors.first { $0.name == "output.weight" }?.dimensions == [8, 12])
        }
        #expect(LlamaCppGPT2.approximation(model) != nil, "exact GELU runs as its tanh form in llama.cpp: say so")
    }

    @Test func layoutsLlamaCppCannotRunAreRefusedNamingTheField() throws {
        var generator = SeededGenerator(seed: 13)
        let lecture = GPTLanguageModel(AttentionTests.tinyConfiguration(), generator: &generator)  // ReLU and a head bias
        let tokenizer = Tokenizer.character(CharacterTokenizer(vocabulary: (0..<11).map { Unicode.Scalar(UInt8(97 + $0)) }))
        #expect(throws: GPTError.invalidConfiguration(field: "activation", reason:
            "must be gelu (and lm_head_bias=false) for llama.cpp's gpt2; train with --layout nanogpt")) {
            try LlamaCppGPT2.export(lecture, tokenizer: tokenizer)
        }
        var relu = AttentionTests.tinyConfiguration()
        relu.lmHeadBias = false
        #expect(throws: GPTError.self) { try LlamaCppGPT2.export(GPTLanguageModel(relu, generator: &generator), tokenizer: tokenizer) }
        do {
            _ = try LlamaCppGPT2.export(GPTLanguageModel(relu, generator: &generator), tokenizer: tokenizer)
        } catch GPTError.invalidConfiguration(let field, let reason) {
            #expect(field == "activation" && reason == "must be gelu for llama.cpp's gpt2; train with --layout nanogpt")
        }
        var small = AttentionTests.tinyConfiguration()
        (small.lmHeadBias, small.activation, small.vocabSize) = (false, .geluTanh, 4)
        #expect(throws: GPTError.self, "a tokenizer with more tokens than the model has rows") {
            try LlamaCppGPT2.export(GPTLanguageModel(small, generator: &generator), tokenizer: tokenizer)
        }
    }
}
