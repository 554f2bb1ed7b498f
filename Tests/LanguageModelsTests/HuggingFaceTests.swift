import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// A GPT2LMHeadModel saved by transformers (Conv1D weights, tied and untied, tanh and exact GELU) imports with
/// logits equal to transformers' (fixtures from `Scripts/make_hf_fixtures.py`).
@Suite struct HuggingFaceTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("hf_gpt2")

    @Test(arguments: ["tied", "untied"])
    func logitsEqualTransformers(name: String) throws {
        let directory = Self.fixtures.appendingPathComponent(name)
        #expect(HuggingFaceGPT2.isModelDirectory(directory))
        let model = try gpt2FixtureModel(name)
        #expect(model.configuration.tiedEmbeddings == (name == "tied"))
        #expect(model.configuration.activation == (name == "tied" ? .geluTanh : .gelu))
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("expected.json"))) as! [String: Any]
        let ids = expected["ids"] as! [Int]
        let reference = (expected[name] as! [Double]).map(Float.init)
        let logits = model.forward(ids).logits.values
        #expect(logits.count == reference.count)
        let difference = zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference < 1e-4, "max |logit difference| \(difference)")
    }

    @Test(arguments: ["tied", "untied"])
    func exportWritesWhatTransformersWrote(name: String) throws {
        // Import transformers' own files, export them again: the same tensors, Conv1D layout and all, and the
        // configuration's fields as transformers wrote them.
        let directory = Self.fixtures.appendingPathComponent(name)
        let model = try gpt2FixtureModel(name)
        let (config, exported) = try HuggingFaceGPT2.export(model)
        let original = try SafeTensors.read(directory.appendingPathComponent("model.safetensors")).tensors
        #expect(Set(exported.map(\.name)) == Set(original.keys))
        for tensor in exported {
            #expect(tensor.shape == original[tensor.name]?.shape, "\(tensor.name)")
            #expect(tensor.values == original[tensor.name]?.values, "\(tensor.name)")
        }
        let theirs = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as! [String: Any]
        for key in ["model_type", "vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "activation_function"] {
            #expect("\(config[key]!)" == "\(theirs[key]!)", "\(key)")
        }
        #expect(config["tie_word_embeddings"] as? Bool == theirs["tie_word_embeddings"] as? Bool)
    }

    @Test func layoutsGPT2CannotHoldAreRefusedNamingTheField() {
        var generator = SeededGenerator(seed: 3)
        let lecture = GPTLanguageModel(AttentionTests.tinyConfiguration(), generator: &generator)  // a head bias
        #expect(throws: GPTError.invalidConfiguration(field: "lm_head_bias", reason:
            "must be false for transformers' GPT-2; train with --layout nanogpt")) { try HuggingFaceGPT2.export(lecture) }
    }

    @Test func gpt2TokenizerFilesRoundTrip() throws {
        // Written as GPT-2's vocab.json + merges.txt and read back: the same tokenizer, the same ids.
        let text = "To be, or not to be: that is the question.\nWhether 'tis nobler in the mind to suffer 🙂 é\n"
        let tokenizer = try BytePairTokenizer(training: String(repeating: text, count: 20), vocabularySize: 300)
        let files = try tokenizer.gpt2Files()
        #expect(files.merges.hasPrefix("#version"))
        let back = try BytePairTokenizer(gpt2Vocabulary: files.vocabulary, merges: files.merges)
        #expect(back == tokenizer)
        #expect(back.encode(text) == tokenizer.encode(text))
    }

    @Test func huggingFacesTokenizerGivesOurIdsAndReadsBack() throws {
        // ids.json: what tokenizers.Tokenizer.from_file gives on the exported tokenizer.json (Scripts/make_hf_tokenizer_fixtures.py).
        struct Case: Decodable { var text: String, ids: [Int] }
        let folder = Self.fixtures.deletingLastPathComponent().appendingPathComponent("hf_tokenizer")
        let ours = try JSONDecoder().decode(Tokenizer.self, from: Data(contentsOf: folder.appendingPathComponent("swift-gpt.json")))
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: folder.appendingPathComponent("ids.json")))
        #expect(cases.count >= 20)
        for item in cases { #expect(try ours.encode(item.text) == item.ids, "\(item.text.debugDescription)") }
        // Hugging Face's file read back here is the same tokenizer, and ours writes the same JSON again.
        let hf = try Data(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        let read = try BytePairTokenizer(huggingFaceJSON: hf, source: "tokenizer.json")
        guard case .bytePair(let bpe) = ours else { Issue.record("not a BPE"); return }
        #expect(read == bpe)
        let written = try JSONSerialization.jsonObject(with: bpe.huggingFaceJSON()) as? NSDictionary
        #expect(written == (try JSONSerialization.jsonObject(with: hf) as? NSDictionary))
        // Other kinds are refused naming what they are.
        let wordPiece = Data(#"{"model":{"type":"WordPiece","vocab":{}},"pre_tokenizer":{"type":"BertPreTokenizer"}}"#.utf8)
        #expect {
            try BytePairTokenizer(huggingFaceJSON: wordPiece, source: "bert.json")
        } throws: { error in
            "\(error)".contains("WordPiece")
        }
    }
}

/// GPT-2's `<|endoftext|>`: the id no merge forms is named in vocab.json, listed as a special added token in
/// tokenizer.json (which tokenizers.Tokenizer then matches whole), and read back as the same tokenizer.
@Suite struct EndOfTextTests {
    @Test func gpt2EndOfTextIsWrittenAsASpecialToken() throws {
        let trained = try BytePairTokenizer(training: "hello hello world", vocabularySize: 260)
        #expect(trained.endOfTextToken == nil, "a trained tokenizer forms every id")
        var vocabulary = try JSONDecoder().decode([String: Int].self, from: trained.gpt2Files().vocabulary)
        vocabulary["<|endoftext|>"] = 260
        let gpt2 = try BytePairTokenizer(gpt2Vocabulary: JSONEncoder().encode(vocabulary), merges: trained.gpt2Files().merges)
        #expect(gpt2.vocabularySize == 261 && gpt2.endOfTextToken == 260)
        let written = try JSONDecoder().decode([String: Int].self, from: gpt2.gpt2Files().vocabulary)
        #expect(written["<|endoftext|>"] == 260)
        let json = try JSONSerialization.jsonObject(with: gpt2.huggingFaceJSON()) as! [String: Any]
        let added = try #require(json["added_tokens"] as? [[String: Any]])
        #expect(added.count == 1 && added[0]["id"] as? Int == 260 && added[0]["content"] as? String == "<|endoftext|>")
        #expect(added[0]["special"] as? Bool == true)
        #expect(try BytePairTokenizer(huggingFaceJSON: gpt2.huggingFaceJSON(), source: "test") == gpt2)
    }
}
