import Foundation
@testable import LanguageModels
import Testing
import _TestSupport

/// Streamed text decodes a short window of tokens per token (``StopSequenceFilter``); its pieces must be those of
/// decoding every token so far after each one (the plain way, whose full decodes equal the `tokenizers` library's:
/// TokenizerFamilyTests), on today's tokenizer families, over texts long enough for the window to move many times.
@Suite struct StreamingDecodeTests {
    static let families = TokenizerFamilyTests.names

    /// The plain way: after each token, decode all of them and hand out what the text gained, unless it ends in an
    /// incomplete character; at the end, whatever is left. One entry per token, then the flush.
    static func plainPieces(_ ids: [Int], tokenizer: Tokenizer) -> [String] {
        var pieces: [String] = [], released = 0
        for end in ids.indices {
            let text = tokenizer.decode(Array(ids[...end])).unicodeScalars
            guard text.count > released, text.last != "\u{FFFD}" else {
                pieces.append("")
                continue
            }
            pieces.append(String(String.UnicodeScalarView(text.dropFirst(released))))
            released = text.count
        }
        pieces.append(String(String.UnicodeScalarView(tokenizer.decode(ids).unicodeScalars.dropFirst(released))))
        return pieces
    }

    /// The filter's pieces, one entry per token, then the flush; whether a stop sequence ended it; the longest
    /// window it decoded.
    static func filterPieces(_ ids: [Int], tokenizer: Tokenizer, stops: [String] = []) -> ([String], Bool, Int) {
        var filter = StopSequenceFilter(stops: stops, tokenizer: tokenizer)
        var pieces: [String] = [], longest = 0
        for id in ids {
            let (piece, stopped) = filter.push(TokenChoice(token: id, logprob: 0))
            longest = max(longest, filter.windowLength)
            pieces.append(piece?.text ?? "")
            if stopped { return (pieces, true, longest) }
        }
        pieces.append(filter.flush()?.text ?? "")
        return (pieces, false, longest)
    }

    static func same(_ a: [String], _ b: [String]) -> Bool { a.elementsEqual(b, by: TokenizerFamilyTests.same) }

    /// Every golden case's text, one after another: emoji, CJK (byte tokens in the SentencePiece families), accents,
    /// special-token strings and spaces of every kind in one long sequence.
    static var allCases: String { TokenizerFamilyTests.golden.texts.joined(separator: " | ") }

    @Test(arguments: families)
    func piecesEqualDecodingEverything(name: String) throws {
        let tokenizer = try TokenizerFamilyTests.tokenizer(name)
        for (text, cases) in zip(TokenizerFamilyTests.golden.texts, TokenizerFamilyTests.golden.cases) {
            let ids = cases[name]!.ids
            guard !ids.isEmpty else { continue }
            #expect(Self.same(Self.filterPieces(ids, tokenizer: tokenizer).0, Self.plainPieces(ids, tokenizer: tokenizer)),
                    "\(name) \(text.debugDescription)")
        }
        let ids = try tokenizer.encode(Self.allCases)
        #expect(ids.count > 16 * StopSequenceFilter.contextTokens, "the window never moved")
        let (pieces, stopped, longest) = Self.filterPieces(ids, tokenizer: tokenizer)
        #expect(!stopped)
        // The window cannot move inside a run of byte tokens (CJK text in the SentencePiece families).
        guard case .bytePair(let bytePair) = tokenizer else { return }
        let strings = bytePair.tokenStrings(ids)
        let byteRun = strings.indices.reduce(into: (run: 0, longest: 0)) { state, i in
            state.run = strings[i].hasPrefix("<0x") ? state.run + 1 : 0
            state.longest = max(state.longest, state.run)
        }.longest
        #expect(longest < byteRun + 8 * StopSequenceFilter.contextTokens, "\(name): the window grew to \(longest) tokens")
        #expect(Self.same(pieces, Self.plainPieces(ids, tokenizer: tokenizer)), "\(name)")
        #expect(TokenizerFamilyTests.same(pieces.joined(), tokenizer.decode(ids)))
    }

    @Test(arguments: families)
    func randomTokensIncludingLoneBytes(name: String) throws {
        // Any ids, byte tokens among them in any order: invalid UTF-8 and characters split over tokens.
        let tokenizer = try TokenizerFamilyTests.tokenizer(name)
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<4 {
            let ids = (0..<300).map { _ in Int(generator.next() % UInt64(tokenizer.vocabularySize)) }
            #expect(Self.same(Self.filterPieces(ids, tokenizer: tokenizer).0, Self.plainPieces(ids, tokenizer: tokenizer)),
                    "\(name)")
        }
    }

    @Test func aLongRunOfBytesThatIsNotUTF8() throws {
        // SentencePiece decodes a run of byte tokens as one string, and a run that is not UTF-8 as one U+FFFD per
        // byte: after a stray continuation byte, the whole run waits (it ends in U+FFFD) and, once it ends, no tail
        // of it decodes alone as the whole does. The pieces must still be the plain ones, and the window must move
        // again a few tokens after the run.
        let tokenizer = try TokenizerFamilyTests.tokenizer("llama2")
        let characters = try tokenizer.encode(String(repeating: "語", count: 60))  // "▁", then 3 byte tokens each
        let stray = try #require(characters.last)  // the last byte of 語: a continuation byte
        #expect(tokenizer.decode([stray]) == "\u{FFFD}" && characters.count == 181)
        let words = try tokenizer.encode(String(repeating: " plain words", count: 20))
        let ids = [characters[0], stray] + characters.dropFirst() + words
        let (pieces, _, longest) = Self.filterPieces(ids, tokenizer: tokenizer)
        #expect(Self.same(pieces, Self.plainPieces(ids, tokenizer: tokenizer)))
        #expect(pieces.prefix(characters.count).allSatisfy { $0.isEmpty }, "the run waits")
        #expect(longest > characters.count, "the window moved inside the run")
        var filter = StopSequenceFilter(stops: [], tokenizer: tokenizer)
        for id in ids { _ = filter.push(TokenChoice(token: id, logprob: 0)) }
        #expect(filter.windowLength < 8 * StopSequenceFilter.contextTokens, "the window stayed long after the run")
    }

    @Test func aRunOfBytesThatTurnsOutNotUTF8() throws {
        // A run of byte tokens that is UTF-8 so far, then a stray byte: SentencePiece then decodes the whole run as
        // U+FFFD per byte, characters already handed out included; the window must not have moved into the run.
        let tokenizer = try TokenizerFamilyTests.tokenizer("llama2")
        let characters = try tokenizer.encode("語語語語語語語")  // "▁", then 3 byte tokens each
        let words = try tokenizer.encode(" plain words here")
        for ids in [Array(characters[..<16]) + [characters.last!] + words, Array(characters[..<16]) + [characters[1]]] {
            #expect(Self.same(Self.filterPieces(ids, tokenizer: tokenizer).0, Self.plainPieces(ids, tokenizer: tokenizer)))
        }
    }

    @Test(arguments: ["llama2", "metaspace"])
    func tokensThatDecodeToNothing(name: String) throws {
        // Ids past the vocabulary (a padded model's) decode to nothing: a window of only those would make the next
        // token's text the first, whose leading space the decoder drops.
        let tokenizer = try TokenizerFamilyTests.tokenizer(name)
        let nothing = [Int](repeating: tokenizer.vocabularySize + 7, count: 4)
        let ids = try Array(tokenizer.encode("one two three four five six seven eight nine ten eleven twelve thirteen").prefix(12))
            + nothing + tokenizer.encode(" again and again")
        #expect(Self.same(Self.filterPieces(ids, tokenizer: tokenizer).0, Self.plainPieces(ids, tokenizer: tokenizer)))
    }

    @Test func aStopSequenceLongAfterTheWindowMoved() throws {
        let long = try JSONDecoder().decode(BytePairMergeTests.Long.self, from: Data(contentsOf:
            TokenizerFamilyTests.fixtures.appendingPathComponent("long.json")))
        let tokenizer = try TokenizerFamilyTests.tokenizer("llama2")
        let text = tokenizer.decode(long.llama2)
        let stop = String(text.suffix(40).prefix(12))  // late in the text
        let before = try #require(text.range(of: stop)).lowerBound
        let (pieces, stopped, longest) = Self.filterPieces(long.llama2, tokenizer: tokenizer, stops: [stop])
        #expect(longest < 8 * StopSequenceFilter.contextTokens)
        #expect(stopped)
        #expect(pieces.count > 16 * StopSequenceFilter.contextTokens)
        #expect(TokenizerFamilyTests.same(pieces.joined(), String(text[..<before])))
    }

    @Test func characterAndWordTokenizers() throws {
        let character = Tokenizer.character(CharacterTokenizer(training: "First Citizen:\nBefore we proceed, hear me."))
        let word = Tokenizer.word(WordTokenizer(training: "to be or not to be that is the question"))
        var generator = SeededGenerator(seed: 3)
        for tokenizer in [character, word] {
            let ids = (0..<200).map { _ in Int(generator.next() % UInt64(tokenizer.vocabularySize)) }
            #expect(Self.same(Self.filterPieces(ids, tokenizer: tokenizer).0, Self.plainPieces(ids, tokenizer: tokenizer)))
        }
    }
}
