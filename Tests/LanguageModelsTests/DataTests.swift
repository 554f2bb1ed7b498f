import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

@Suite struct TokenizerTests {
    @Test func vocabularyIsSortedDistinctScalars() throws {
        let tokenizer = CharacterTokenizer(training: "hello world")
        #expect(tokenizer.vocabulary.map { String($0) } == [" ", "d", "e", "h", "l", "o", "r", "w"])
        #expect(try tokenizer.encode("hell") == [3, 2, 4, 4])
        #expect(tokenizer.decode([7, 5, 6, 4, 1]) == "world")
    }

    @Test func roundTripsUnicodeAsScalars() throws {
        let text = "Dogs & cats\r\nare pets 🐶 — é (e\u{301})"
        let tokenizer = CharacterTokenizer(training: text)
        #expect(tokenizer.decode(try tokenizer.encode(text)) == text)
        // "\r\n" is one Character but two scalars, as in Python.
        #expect(try tokenizer.encode("\r\n").count == 2)
    }

    @Test func unknownCharacterIsATypedError() {
        let tokenizer = CharacterTokenizer(training: "abc")
        #expect { try tokenizer.encode("az") } throws: { error in
            guard case .unknownText(let unknown) = error as? GPTError else { return false }
            return unknown.examples == ["z"] && unknown.firstPosition == 1
        }
    }

    @Test func jsonRoundTrip() throws {
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "To be, or not\n"))
        let data = try JSONEncoder().encode(tokenizer)
        #expect(try JSONDecoder().decode(Tokenizer.self, from: data) == tokenizer)
        let bad = Data(#"{"kind": "char", "vocabulary": ["ab"]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Tokenizer.self, from: bad) }
    }
}

@Suite struct DatasetTests {
    @Test func batchesAreWindowsShiftedByOne() {
        let dataset = TextDataset(tokens: Array(0..<100))
        #expect(dataset.trainTokens.count == 90 && dataset.validationTokens.first == 90)
        var generator = SeededGenerator(seed: 1)
        let (x, y) = dataset.batch(.train, batchSize: 4, blockSize: 8, generator: &generator)
        #expect(x.count == 32 && y.count == 32)
        for row in 0..<4 {
            for t in 0..<8 { #expect(y[row * 8 + t] == x[row * 8 + t] + 1) }
            for t in 1..<8 { #expect(x[row * 8 + t] == x[row * 8 + t - 1] + 1) }
        }
        #expect(x.allSatisfy { $0 < 90 } && y.allSatisfy { $0 < 90 })
    }

    @Test func corpusErrorsAreTyped() throws {
        let directory = temporaryDirectory("data")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("missing.txt").path
        #expect(throws: GPTError.fileNotFound(path: missing)) { try readCorpus(at: missing) }
        let empty = directory.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        #expect(throws: GPTError.emptyCorpus(path: empty.path)) { try readCorpus(at: empty.path) }
        let invalid = directory.appendingPathComponent("latin1.txt")
        try Data([0x61, 0x62, 0xE9, 0x63]).write(to: invalid)
        #expect(throws: GPTError.invalidUTF8(path: invalid.path, byteOffset: 2)) { try readCorpus(at: invalid.path) }
        let short = TextDataset(tokens: Array(0..<20), source: "short.txt")
        #expect(throws: GPTError.corpusTooShort(path: "short.txt", tokens: 2, needed: 9)) { try short.validate(blockSize: 8) }
    }

    @Test func bundledCorpusIsTinyShakespeare() throws {
        let text = try readCorpus(at: try bundledCorpusPath())
        #expect(text.utf8.count == 1_115_394)
        #expect(CharacterTokenizer(training: text).vocabularySize == 65)
    }
}
