import Foundation
@testable import LanguageModels
import Testing
import _TestSupport

/// Today's tokenizers from `tokenizer.json`: Llama 3 / Qwen2-style byte-level BPE with a Split regex, SentencePiece-style
/// BPE with byte fallback (Llama 2), added and special tokens. Golden values: Fixtures/tokenizer_families/expected.json,
/// from Scripts/make_tokenizer_family_fixtures.py (the `tokenizers` library).
@Suite struct TokenizerFamilyTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tokenizer_families")
    static let names = ["llama3", "qwen2", "llama2", "metaspace", "gpt2_chat"]

    struct Expected: Decodable {
        var ids: [Int]
        var tokens: [String]
        var with_special: [Int]
        var decoded: String
        var decoded_all: String
    }

    struct Golden: Decodable {
        var cases: [[String: Expected]]
        var texts: [String]
        var decodes: [Decode]
        var split_texts: [String]
        var splits: [Split]

        struct Decode: Decodable { var tokenizer: String; var ids: [Int]; var decoded: String; var decoded_all: String }
        struct Split: Decodable { var pattern: [String: String]; var behavior: String; var invert: Bool; var pieces: [[String]] }

        enum CodingKeys: String, CodingKey { case cases, decodes, split_texts, splits }
        private struct Text: Decodable { var text: String }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            texts = try container.decode([Text].self, forKey: .cases).map(\.text)
            // Each case: "text" and one object per tokenizer.
            var nested = try container.nestedUnkeyedContainer(forKey: .cases)
            var cases: [[String: Expected]] = []
            while !nested.isAtEnd {
                let item = try nested.nestedContainer(keyedBy: AnyKey.self)
                var byName: [String: Expected] = [:]
                for name in TokenizerFamilyTests.names { byName[name] = try item.decode(Expected.self, forKey: AnyKey(name)) }
                cases.append(byName)
            }
            self.cases = cases
            decodes = try container.decode([Decode].self, forKey: .decodes)
            split_texts = try container.decode([String].self, forKey: .split_texts)
            splits = try container.decode([Split].self, forKey: .splits)
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let golden: Golden = try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixtures.appendingPathComponent("expected.json")))

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(contentsOf: fixtures.appendingPathComponent("\(name).json"))
    }

    /// Scalar by scalar: Swift's `==` on strings would call "é" and "e" + U+0301 equal.
    static func same(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    @Test(arguments: names)
    func idsAndDecodingEqualTheLibrarys(name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        #expect(Self.golden.texts.count >= 30)
        for (text, cases) in zip(Self.golden.texts, Self.golden.cases) {
            let expected = cases[name]!, shown = "\(name) \(text.debugDescription)"
            let plain = try tokenizer.tokenization(of: text, addingSpecialTokens: false)
            #expect(plain.ids == expected.ids, "\(shown)")
            #expect(plain.pieces.elementsEqual(expected.tokens, by: Self.same), "\(shown)")
            #expect(try tokenizer.encode(text) == expected.ids, "\(shown)")
            #expect(try tokenizer.tokenization(of: text).ids == expected.with_special, "\(shown)")
            #expect(Self.same(tokenizer.decode(expected.with_special, skippingSpecialTokens: true), expected.decoded), "\(shown)")
            #expect(Self.same(tokenizer.decode(expected.with_special, skippingSpecialTokens: false), expected.decoded_all), "\(shown)")
        }
    }

    @Test func decodingBytesThatAreNotUTF8() throws {
        for item in Self.golden.decodes {
            let tokenizer = try Self.tokenizer(item.tokenizer)
            #expect(Self.same(tokenizer.decode(item.ids, skippingSpecialTokens: true), item.decoded), "\(item.ids)")
            #expect(Self.same(tokenizer.decode(item.ids, skippingSpecialTokens: false), item.decoded_all), "\(item.ids)")
        }
    }

    @Test func splitBehaviorsEqualTheLibrarys() throws {
        for split in Self.golden.splits {
            let behavior = PreTokenizer.SplitBehavior(rawValue: split.behavior.split(separator: "_").map(\.capitalized).joined())!
            let pattern = try SplitPattern(split.pattern["Regex"] ?? split.pattern["String"]!, isRegex: split.pattern["Regex"] != nil)
            for (text, expected) in zip(Self.golden.split_texts, split.pieces) {
                let pieces = PreTokenizer.split(pattern, behavior: behavior, invert: split.invert)
                    .apply([PreTokenizer.Piece(text: Substring(text), atStart: true)]).map { String($0.text) }
                #expect(pieces == expected, "\(split.pattern) \(split.behavior) invert \(split.invert) \(text.debugDescription)")
            }
        }
    }

    @Test(arguments: names)
    func readWriteReadIsEqual(name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        let again = try Tokenizer(huggingFaceJSON: tokenizer.huggingFaceJSON(), source: name)
        #expect(again == tokenizer)
        let coded = try JSONDecoder().decode(Tokenizer.self, from: JSONEncoder().encode(tokenizer))
        #expect(coded == tokenizer)
        #expect(try coded.encode("Hello <|im_start|> world 123456") == tokenizer.encode("Hello <|im_start|> world 123456"))
    }

    /// The bug of issue 30: GPT-2 with chat tokens added past its vocabulary lost them (ids cut as padding).
    @Test func gpt2KeepsTokensAddedAfterItsVocabulary() throws {
        let tokenizer = try Self.tokenizer("gpt2_chat")
        #expect(tokenizer.vocabularySize == 402)
        let ids = try tokenizer.encode("<|im_start|>user\nHi<|im_end|>")
        #expect(ids.first == 400 && ids.contains(401))
    }

    @Test func theCommandsLibraryReadsFoldersAndFiles() throws {
        let directory = temporaryDirectory("tokenize")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("llama3.json"),
                                         to: directory.appendingPathComponent("tokenizer.json"))
        let text = Self.golden.texts[23], expected = Self.golden.cases[23]["llama3"]!
        let fromFolder = try Tokenizer.reading(checkpointOrFile: directory).tokenization(of: text)
        #expect(fromFolder.ids == expected.with_special)
        let fromFile = try Tokenizer.reading(checkpointOrFile: Self.fixtures.appendingPathComponent("llama3.json"))
        #expect(try fromFile.tokenization(of: text, addingSpecialTokens: false).pieces == expected.tokens)
        #expect(throws: GPTError.self) { try Tokenizer.reading(checkpointOrFile: directory.appendingPathComponent("missing")) }
    }
}
