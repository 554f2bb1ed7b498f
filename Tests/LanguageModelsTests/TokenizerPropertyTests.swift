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
