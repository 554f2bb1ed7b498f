import Foundation
import LanguageModels
import TensorModule
import Testing

/// Round trips on random Unicode text for all three tokenizer kinds.
@Suite struct TokenizerPropertyTests {
    /// Random text mixing ASCII, accents, combining marks, CJK, emoji (with ZWJ and skin tones), CRLF and tabs.
    static func randomText(_ generator: inout SeededGenerator, length: Int) -> String {
        let pools: [[Unicode.Scalar]] = [
            Array("abcXYZ 019,.;'!?-".unicodeScalars), Array("éüñßçØ".unicodeScalars),
            ["\u{301}", "\u{308}", "\u{20DD}"], Array("漢字かなㄱ".unicodeScalars),
            ["\u{1F600}", "\u{1F469}", "\u{200D}", "\u{1F4BB}", "\u{1F3FD}"], ["\r", "\n", "\t", " ", " "],
        ]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            let pool = pools[generator.nextInt(below: pools.count)]
            scalars.append(pool[generator.nextInt(below: pool.count)])
        }
        return String(scalars)
    }

    @Test func allKindsRoundTripRandomUnicode() throws {
        var generator = SeededGenerator(seed: 11)
        let training = Self.randomText(&generator, length: 3000)
        for kind in Tokenizer.kinds {
            let tokenizer = try Tokenizer.training(kind, on: training, vocabularySize: 300)
            #expect(tokenizer.decode(try tokenizer.encode(training)) == training, "\(kind)")
            let data = try JSONEncoder().encode(tokenizer)
            #expect(try JSONDecoder().decode(Tokenizer.self, from: data) == tokenizer, "\(kind) JSON")
        }
        // Byte-level BPE encodes any text, seen or not.
        let bpe = try BytePairTokenizer(training: training, vocabularySize: 300)
        for _ in 0..<50 {
            let text = Self.randomText(&generator, length: generator.nextInt(below: 40))
            #expect(bpe.decode(bpe.encode(text)) == text)
        }
    }

    @Test func preSplitFollowsGPT2sPattern() {
        #expect(BytePairTokenizer.preSplit("Hello world's 42 cats!!  \nok") ==
                ["Hello", " world", "'s", " 42", " cats", "!!", "  ", "\n", "ok"])
        #expect(BytePairTokenizer.preSplit("a  b") == ["a", " ", " b"])
        #expect(BytePairTokenizer.preSplit("end  ") == ["end", "  "])
    }

    @Test func bpeLearnsFrequentPairsAndShortensText() throws {
        let text = String(repeating: "the cat sat on the mat. ", count: 50)
        let bpe = try BytePairTokenizer(training: text, vocabularySize: 270)
        // Merging stops early once every piece is a single token.
        #expect(bpe.vocabularySize > 256 && bpe.vocabularySize <= 270)
        #expect(bpe.encode(text).count < text.utf8.count / 3)
        // The first merge is the most frequent pair: " t" + ... pairs inside " the"/" mat"; it must exist in the text.
        let first = bpe.merges[0]
        let pair = bpe.tokenBytes[first[0]] + bpe.tokenBytes[first[1]]
        #expect(text.utf8.count > 0 && String(decoding: pair, as: UTF8.self).count <= 2)
        #expect(throws: GPTError.self) { try BytePairTokenizer(training: text, vocabularySize: 100) }
    }

    @Test func aCutCharacterDecodesToReplacement() throws {
        let bpe = try BytePairTokenizer(training: "abc", vocabularySize: 256)
        let tokens = bpe.encode("é")  // two bytes, two tokens
        #expect(tokens.count == 2)
        #expect(bpe.decode([tokens[0]]) == "\u{FFFD}")
    }
}

@Suite struct GPT2FilesTests {
    @Test func loadsVocabularyAndMergesInGPT2sFormat() throws {
        // A miniature GPT-2 vocabulary: the 256 byte characters, then "Ġt" (" t"), "he", "Ġthe".
        let characters = (0..<256).map { byte -> String in
            // Recompute bytes_to_unicode independently: printable Latin-1 stands for itself.
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable { return String(Unicode.Scalar(UInt8(byte))) }
            let rank = (0..<byte).filter { !((33...126).contains($0) || (161...172).contains($0) || (174...255).contains($0)) }.count
            return String(Unicode.Scalar(UInt32(256 + rank))!)
        }
        var vocabulary: [String: Int] = [:]
        for (id, text) in characters.enumerated() { vocabulary[text] = id }
        vocabulary["Ġt"] = 256
        vocabulary["he"] = 257
        vocabulary["Ġthe"] = 258
        let merges = "#version: 0.2\nĠ t\nh e\nĠt he\n"
        let tokenizer = try BytePairTokenizer(gpt2Vocabulary: try JSONEncoder().encode(vocabulary), merges: merges)
        #expect(tokenizer.encode(" the") == [258])
        #expect(tokenizer.encode("the the") == [characters.firstIndex(of: "t")!, 257, 258])
        #expect(tokenizer.decode(tokenizer.encode("the théâtre\n")) == "the théâtre\n")
        #expect(throws: GPTError.self) { try BytePairTokenizer(gpt2Vocabulary: Data("[]".utf8), merges: "") }
    }
}
