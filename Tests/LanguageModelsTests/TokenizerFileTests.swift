import Foundation
import LanguageModels
import TensorModule
import Testing

/// `tokenizer.json` is Hugging Face's format for every kind: `tokenizers.Tokenizer.from_file` gives our ids.
/// Golden values: Fixtures/tokenizer_files/expected.json, from Scripts/make_tokenizer_file_fixtures.py.
@Suite struct TokenizerFileTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tokenizer_files")

    struct Expected: Decodable {
        var ids: [Int]?
        var decoded: String?
        var error: String?
    }

    struct Case: Decodable {
        var text: String
        var char: Expected
        var word: Expected
        var bpe: Expected
        var wordPieces: [String]
        enum CodingKeys: String, CodingKey { case text, char, word, bpe, wordPieces = "word_pieces" }

        func expected(_ kind: String) -> Expected { kind == "char" ? char : kind == "word" ? word : bpe }
    }

    static func cases() throws -> [Case] {
        try JSONDecoder().decode([Case].self, from: Data(contentsOf: fixtures.appendingPathComponent("expected.json")))
    }

    /// Scalar by scalar: Swift's `==` on strings would call "é" and "e" + U+0301 equal.
    static func same(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    @Test(arguments: Tokenizer.kinds)
    func fileGivesHuggingFacesIds(kind: String) throws {
        let tokenizer = try Tokenizer(contentsOf: Self.fixtures.appendingPathComponent("\(kind).json"))
        #expect(tokenizer.kind == kind)
        let cases = try Self.cases()
        #expect(cases.filter { $0.expected(kind).ids != nil }.count >= 30)
        for item in cases {
            let expected = item.expected(kind), text = item.text.debugDescription
            if let ids = expected.ids {
                // tokenizers leaves out a character its BPE lacks, as skipping does.
                let (tokens, skipped) = try tokenizer.encode(item.text, skippingUnknown: true)
                #expect(tokens == ids, "\(kind) \(text)")
                if skipped.isEmpty { #expect(try tokenizer.encode(item.text) == ids, "\(kind) \(text)") }
                #expect(Self.same(tokenizer.decode(ids), expected.decoded ?? ""), "\(kind) decodes \(text)")
            } else {
                // tokenizers refuses a word outside a WordLevel vocabulary; so do we, unless told to skip it.
                #expect(expected.error?.contains("WordLevel") == true)
                #expect(throws: GPTError.self, "\(kind) \(text)") { try tokenizer.encode(item.text) }
                #expect(try !tokenizer.encode(item.text, skippingUnknown: true).skipped.isEmpty)
            }
        }
    }

    @Test func wordSplitIsHuggingFacesPreTokenizer() throws {
        for item in try Self.cases() {
            let pieces = WordTokenizer.split(item.text)
            #expect(pieces.count == item.wordPieces.count && zip(pieces, item.wordPieces).allSatisfy(Self.same),
                    "\(item.text.debugDescription)")
        }
    }

    @Test(arguments: Tokenizer.kinds)
    func trainingWritesTheCommittedFile(kind: String) throws {
        // The files the script read are what this code trains and writes today.
        let training = try String(contentsOf: Self.fixtures.appendingPathComponent("training.txt"), encoding: .utf8)
        let trained = try Tokenizer.training(kind, on: training, vocabularySize: 300)
        let url = Self.fixtures.appendingPathComponent("\(kind).json")
        #expect(try Tokenizer(contentsOf: url) == trained)
        #expect(trained.huggingFaceJSON() == (try Data(contentsOf: url)))
        // The Codable form (a tokenizer inside another file) is the same object.
        #expect(try JSONDecoder().decode(Tokenizer.self, from: JSONEncoder().encode(trained)) == trained)
    }

    @Test func olderFilesStillLoad() throws {
        for kind in Tokenizer.kinds {
            let older = try Tokenizer(contentsOf: Self.fixtures.appendingPathComponent("legacy_\(kind).json"))
            #expect(older == (try Tokenizer(contentsOf: Self.fixtures.appendingPathComponent("\(kind).json"))))
        }
        let bpe = Self.fixtures.deletingLastPathComponent().appendingPathComponent("hf_tokenizer")
        let older = try Tokenizer(contentsOf: bpe.appendingPathComponent("swift-gpt.json"))
        #expect(older == (try Tokenizer(contentsOf: bpe.appendingPathComponent("tokenizer.json"))))
        #expect(older.kind == "bpe")
    }

    @Test(arguments: Tokenizer.kinds)
    func checkpointsSaveHuggingFacesFileAndLoadTheOlderOne(kind: String) throws {
        let older = try Data(contentsOf: Self.fixtures.appendingPathComponent("legacy_\(kind).json"))
        let tokenizer = try Tokenizer(huggingFaceJSON: older, source: "legacy")
        var generator = SeededGenerator(seed: 1)
        let model = try makeModel(.bigram(vocabSize: tokenizer.vocabularySize), generator: &generator)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gpt-tokenizer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Checkpoint(model: model, tokenizer: tokenizer).save(to: directory)
        let file = directory.appendingPathComponent(Checkpoint.tokenizerFile)
        #expect(try Data(contentsOf: file) == (try Data(contentsOf: Self.fixtures.appendingPathComponent("\(kind).json"))))
        // A run saved by an earlier version, its tokenizer.json in the older format, still loads.
        try older.write(to: file)
        #expect(try Checkpoint.load(from: directory).tokenizer == tokenizer)
    }

    @Test func canonicallyEquivalentTokensStayApart() throws {
        // "Å" U+00C5 and U+212B, "é" and "e" + U+0301: equal as Swift strings, different tokens for tokenizers.
        let file = Data(#"{"model": {"type": "BPE", "vocab": {"\u00c5": 0, "\u212b": 1}, "merges": []}}"#.utf8)
        let tokenizer = try Tokenizer(huggingFaceJSON: file, source: "test")
        #expect(tokenizer.vocabularySize == 2)
        #expect(try tokenizer.encode("\u{212B}\u{C5}") == [1, 0])
        let word = WordTokenizer(training: "caf\u{E9} cafe\u{301} caf\u{E9}")  // " café" twice, scalars differing
        #expect(word.vocabularySize == 3)
        #expect(try word.encode(" cafe\u{301} caf\u{E9}") == [0, 1])
    }

    @Test(arguments: ["char", "word", "legacy_bpe"])
    func truncationsAndByteFlipsAreTypedErrors(name: String) throws {
        let valid = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).json"))
        for length in stride(from: 0, to: valid.count, by: 7) {
            #expect(throws: GPTError.self) { try Tokenizer(huggingFaceJSON: valid.prefix(length), source: "cut") }
        }
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<1000 {
            var damaged = valid
            damaged[generator.nextInt(below: damaged.count)] ^= UInt8(1 + generator.nextInt(below: 255))
            do { _ = try Tokenizer(huggingFaceJSON: damaged, source: "flipped") } catch { #expect(error is GPTError) }
        }
    }

    @Test(arguments: [
        ("{}", "field model is missing"),
        (#"{"model": {"type": "BPE", "vocab": []}}"#, "field model.vocab must be an object, not an array"),
        (#"{"model": {"type": "BPE", "vocab": {"a": "0"}}}"#, #"field model.vocab."a" must be an integer, not the string "0""#),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}}}"#, #"field model.vocab."b" repeats the id 0"#),
        (#"{"model": {"type": "BPE", "vocab": {"ab": 0}}}"#, #"field model.vocab."ab" must be one character"#),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#, "field model.merges[0] is a merge"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "unk_token": "a"}}"#, "field model.unk_token must be null"),
        (#"{"model": {"type": "WordPiece", "vocab": {}}}"#, #"field model.type is "WordPiece""#),
        (#"{"model": {"type": "WordLevel", "vocab": {}}, "pre_tokenizer": {"type": "Whitespace"}}"#,
         "field pre_tokenizer must be the Split"),
        (#"{"normalizer": {"type": "BertNormalizer"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}"#,
         "field normalizer.type is \"BertNormalizer\", a normalizer this package does not apply"),
        (#"{"kind": "char", "vocabulary": "abc"}"#, "field vocabulary must be an array, not the string"),
        (#"{"kind": "char", "vocabulary": ["a", "a"]}"#, "field vocabulary[1] repeats the character"),
        (#"{"kind": "sentencepiece"}"#, #"field kind is "sentencepiece", not char, word or bpe"#),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}}} x"#, "is not JSON: text after the JSON value"),
        (#"{"model": "\ud800"}"#, "is not JSON: a lone surrogate"),
        (String(repeating: "[", count: 100_000), "is not JSON: nested deeper than 64 levels"),
    ])
    func malformedFileNamesTheField(json: String, message: String) {
        #expect {
            try Tokenizer(huggingFaceJSON: Data(json.utf8), source: "bad.json")
        } throws: { error in
            guard case .invalidCheckpoint(let path, let reason) = error as? GPTError else { return false }
            return path == "bad.json" && reason.contains(message)
        }
    }
}

/// Text outside the vocabulary: an error that counts all of it and names a few, or skipped and counted.
@Suite struct UnknownTextTests {
    @Test func characterErrorCountsTheWholeText() {
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abc "))
        #expect { try tokenizer.encode("ab zz\u{E9}yz a") } throws: { error in
            "\(error)" == "text outside the model's vocabulary: 5 characters (\"z\" (U+007A), \"é\" (U+00E9), "
                + "\"y\" (U+0079), …), the first at position 3; use only characters that occur in the training text, "
                + "or leave them out with --skip-unknown"
        }
    }

    @Test func skippingLeavesOutAndCounts() throws {
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abc "))  // " " 0, a 1, b 2, c 3
        let (tokens, skipped) = try tokenizer.encode("ab zz\u{E9}yz a", skippingUnknown: true)
        #expect(tokens == [1, 2, 0, 0, 1])
        #expect(skipped.characters == 5 && skipped.pieces == 5 && skipped.firstPosition == 3)
        #expect(skipped.examples == ["z", "\u{E9}", "y"])
        // At most five distinct examples, however many there are.
        let many = try tokenizer.encode("0123456789", skippingUnknown: true).skipped
        #expect(many.examples == ["0", "1", "2", "3", "4"] && many.characters == 10)
        #expect(try tokenizer.encode("abc", skippingUnknown: true).skipped.isEmpty)
    }

    @Test func wordsAreCountedWithTheirCharacters() throws {
        let tokenizer = Tokenizer.word(WordTokenizer(training: "I love dogs\nI love cats"))
        let (tokens, skipped) = try tokenizer.encode("I love birds and cats", skippingUnknown: true)
        #expect(tokens == [4, 3, 1])  // "I", " love", " cats"
        #expect(skipped.pieces == 2 && skipped.characters == 10 && skipped.examples == [" birds", " and"])
        #expect { try tokenizer.encode("I love birds and cats") } throws: { error in
            "\(error)".hasPrefix("text outside the model's vocabulary: 2 words, 10 characters (\" birds\", \" and\"), "
                + "the first at position 6; use only words")
        }
    }

    @Test func bytePairNeverSkips() throws {
        let tokenizer = Tokenizer.bytePair(try BytePairTokenizer(training: "abc", vocabularySize: 256))
        let (tokens, skipped) = try tokenizer.encode("🙂", skippingUnknown: true)
        #expect(tokens == [0xF0, 0x9F, 0x99, 0x82] && skipped.isEmpty)
    }
}
