import Foundation
import LanguageModels
import Testing

/// GPT-2's pre-split on Unicode scalars, against Hugging Face's tokenizers (fixtures from
/// `Scripts/make_presplit_fixtures.py`), and text read as it is, a leading byte-order mark included.
@Suite struct PreSplitTests {
    struct Case: Decodable { var text: String, pieces: [String] }

    @Test func preSplitEqualsHuggingFaces() throws {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/gpt2_presplit", withExtension: "json"))
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
        #expect(cases.count >= 20)
        for item in cases {
            let ours = BytePairTokenizer.preSplit(item.text)
            // Compared as scalars: Swift's String equality would call "s" + U+0301 equal to "ś".
            #expect(ours.map { Array($0.unicodeScalars) } == item.pieces.map { Array($0.unicodeScalars) },
                    "\(item.text.debugDescription): \(ours) vs \(item.pieces)")
        }
    }

    @Test func aLeadingByteOrderMarkIsKeptAsText() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gpt-bom-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data([0xEF, 0xBB, 0xBF] + Array("Hello\n".utf8)).write(to: url)
        let text = try readCorpus(at: url.path)
        #expect(text.unicodeScalars.first == "\u{FEFF}")
        #expect(Array(text.utf8) == [0xEF, 0xBB, 0xBF] + Array("Hello\n".utf8))
        let tokenizer = CharacterTokenizer(training: text)
        #expect(tokenizer.decode(try tokenizer.encode(text)) == text)
    }
}
