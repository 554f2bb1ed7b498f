import Foundation
@testable import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// `gpt export --format gguf` then `gpt import` of every architecture GGUF holds here: gpt2 (a nanoGPT-layout model),
/// llama, qwen2 and qwen3 (the transformers fixtures of those families). f32 gives back every weight exactly and the
/// same tokenizer; q8_0 gives each matrix as the naive Q8_0 reference rounds it (llama's permuted q/k rows included).
@Suite struct GGUFRoundTripTests {
    /// The imported fixture `name`; llama without its llama3 RoPE scaling (GGUF keeps that as a tensor of factors,
    /// which this exporter refuses).
    static func family(_ name: String) throws -> Checkpoint {
        var checkpoint = try HuggingFaceFamilyTests.imported(name)
        guard name == "llama", let model = checkpoint.model as? GPTLanguageModel else { return checkpoint }
        var c = model.configuration
        c.ropeScaling = nil
        var generator = SeededGenerator(seed: 1)
        let plain = GPTLanguageModel(c, generator: &generator)
        try plain.loadWeights(weights(model), source: "test")
        let files = checkpoint.companionFiles
        checkpoint = Checkpoint(model: plain, tokenizer: checkpoint.tokenizer)
        (checkpoint.companionFiles, checkpoint.family) = (files, "llama")
        return checkpoint
    }

    static func weights(_ model: any LanguageModel) -> StateDict {
        Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, ($0.tensor.shape, $0.tensor.values)) })
    }

    static func roundTrip(_ checkpoint: Checkpoint, type: GGUF.TensorType) throws -> (Checkpoint, GGUF.File) {
        let url = temporaryDirectory("gguf-roundtrip").appendingPathExtension("gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        var options = ExportOptions()
        options.ggufType = type
        _ = try GGUFFormat().write(checkpoint, to: url, options: options)
        #expect(try ModelFormats.detect(url).name == "gguf")
        return (try GGUFFormat().read(url, tokenizer: nil, configuration: nil), try GGUF.File.read(url))
    }

    @Test(arguments: ["llama", "qwen2", "qwen3"])
    func familiesComeBackExactlyInF32(name: String) throws {
        let original = try Self.family(name)
        let (back, file) = try Self.roundTrip(original, type: .f32)
        #expect(try file.string("general.architecture") == name)
        #expect(back.family == name)
        let model = original.model as! GPTLanguageModel
        #expect(back.model.configuration == model.configuration)
        let (a, b) = (Self.weights(model), Self.weights(back.model))
        #expect(Set(a.keys) == Set(b.keys))
        for (key, tensor) in a { #expect(b[key]!.values == tensor.values, "\(name) \(key)") }
        #expect(back.tokenizer == original.tokenizer)
        #expect(back.companionFiles["chat_template.jinja"] == original.companionFiles["chat_template.jinja"])
        let text = "Hello, the quick fox! 123"
        #expect(try back.tokenizer.encode(text) == original.tokenizer.encode(text))
    }

    @Test func llamaQueryAndKeyRowsAreStoredInLlamaCppsInterleavedOrder() throws {
        let original = try Self.family("llama")
        let (_, file) = try Self.roundTrip(original, type: .f32)
        let c = original.model.configuration, d = c.headSize
        let packed = Self.weights(original.model)["transformer.h.0.attn.c_attn.weight"]!.values
        let stored = file.values(file.tensor("blk.0.attn_q.weight")!)
        // convert_hf_to_gguf.py's permute: row 2i + j of a head is transformers' row j·d/2 + i.
        for head in 0..<c.headCount {
            for i in 0..<(d / 2) {
                for j in 0..<2 {
                    let row = head * d + 2 * i + j, source = head * d + j * (d / 2) + i
                    #expect(Array(stored[(row * c.embeddingSize)..<((row + 1) * c.embeddingSize)])
                        == Array(packed[(source * c.embeddingSize)..<((source + 1) * c.embeddingSize)]))
                }
            }
        }
    }

    @Test(arguments: ["llama", "qwen3"])
    func q8WeightsAreTheReferenceRounding(name: String) throws {
        let original = try Self.family(name)
        let (back, file) = try Self.roundTrip(original, type: .q8_0)
        #expect(try file.integer("general.file_type") == 7)
        #expect(file.tensor("blk.0.attn_q.weight")?.type == .q8_0)
        #expect(file.tensor("blk.0.ffn_down.weight")?.type == .f32, "rows of 48 are not whole blocks: kept in f32")
        #expect(file.tensor("blk.0.attn_norm.weight")?.type == .f32)
        let (a, b) = (Self.weights(original.model), Self.weights(back.model))
        for (key, tensor) in a {
            let columns = tensor.shape.last!
            let expected = tensor.shape.count == 2 && columns % 32 == 0
                ? Naive.dequantizedQ8(tensor.values, columns: columns) : tensor.values
            #expect(b[key]!.values == expected, "\(name) \(key)")
        }
    }

    @Test(arguments: [GGUF.TensorType.f32, .f16, .bf16, .q8_0])
    func gpt2ModelsComeBackWithTheirLogits(type: GGUF.TensorType) throws {
        var generator = SeededGenerator(seed: 5)
        var c = tinyGPTConfiguration(vocabularySize: 11, blockSize: 8, layers: 2, heads: 2, width: 32)
        (c.activation, c.lmHeadBias, c.bias) = (.geluTanh, false, true)
        let model = GPTLanguageModel(c, generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(vocabulary: (0..<11).map { Unicode.Scalar(UInt8(97 + $0)) }))
        let (back, file) = try Self.roundTrip(Checkpoint(model: model, tokenizer: tokenizer), type: type)
        #expect(try file.string("general.architecture") == "gpt2")
        #expect(back.tokenizer.vocabularySize == 12, "the appended <|endoftext|>")
        #expect(try back.tokenizer.encode("abcab") == tokenizer.encode("abcab"))
        let ids = [0, 3, 1, 4, 1, 5]
        let expected = withoutGradient { model.forward(ids).logits.values }
        let logits = withoutGradient { back.model.forward(ids).logits.values }
        for position in ids.indices {
            let row = Array(logits[(position * 12)..<(position * 12 + 11)])
            let reference = Array(expected[(position * 11)..<((position + 1) * 11)])
            let tolerance: Float = type == .f32 ? 1e-5 : 0.05
            #expect(compare(row, reference, absolute: tolerance).passed, "\(type.name) position \(position)")
        }
    }
}
