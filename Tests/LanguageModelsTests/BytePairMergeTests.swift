import Foundation
@testable import LanguageModels
import Testing
import _TestSupport

/// A SentencePiece-style text is one piece, merged in runs cut where no merge can join the neighbours: the same ids
/// as `tokenizers` on a long text (Fixtures/tokenizer_families/long.json, from
/// Scripts/make_tokenizer_family_fixtures.py), and the same tokens as merging the piece whole.
@Suite struct BytePairMergeTests {
    struct Long: Decodable { var text: String, llama2: [Int], metaspace: [Int] }

    static func bytePair(_ name: String) throws -> BytePairTokenizer {
        guard case .bytePair(let tokenizer) = try TokenizerFamilyTests.tokenizer(name) else { throw GPTError.invalidArgument(name: name, reason: "not a BPE") }
        return tokenizer
    }

    @Test func longTextEqualsTokenizers() throws {
        let long = try JSONDecoder().decode(Long.self, from: Data(contentsOf: TokenizerFamilyTests.fixtures.appendingPathComponent("long.json")))
        for (name, ids) in [("llama2", long.llama2), ("metaspace", long.metaspace)] {
            let tokenizer = try Self.bytePair(name)
            #expect(tokenizer.junctions != nil, "\(name)")
            #expect(tokenizer.encode(long.text, addingSpecialTokens: true) == ids, "\(name)")
        }
    }

    @Test func runsMergeAsTheWholePiece() throws {
        // Random sequences of the symbols a text starts from (characters and byte tokens), merged in runs and whole.
        let tokenizer = try Self.bytePair("llama2")
        let junctions = try #require(tokenizer.junctions)
        let leaves = Array(Set(tokenizer.merges.flatMap { [$0[0], $0[1]] }).subtracting(tokenizer.merges.map { $0[2] })).sorted()
        #expect(leaves.count > 20)
        var generator = SeededGenerator(seed: 5)
        var cuts = 0
        for _ in 0..<200 {
            let symbols = (0..<120).map { _ in leaves[Int(generator.next() % UInt64(leaves.count))] }
            cuts += zip(symbols, symbols.dropFirst()).filter { !junctions.contains(BytePairTokenizer.key($0, $1)) }.count
            #expect(tokenizer.mergeAll(symbols) == tokenizer.mergeRun(symbols[...]))
        }
        #expect(cuts > 0, "the test cut no piece")
    }

    @Test func junctionsAreNilWhenMergesAreOutOfOrderTooOften() {
        // Each merge uses the token of the merge after it: the fixed point is not reached in a few passes.
        let merges = (0..<8).map { [10 + $0 + 1, 1, 10 + $0] }
        #expect(BytePairTokenizer.junctions(merges: merges) == nil)
        // In order, a left part's first symbols and a right part's last ones meet.
        let ordered = [[1, 2, 10], [10, 3, 11]]
        #expect(BytePairTokenizer.junctions(merges: ordered) == [BytePairTokenizer.key(1, 2), BytePairTokenizer.key(2, 3), BytePairTokenizer.key(10, 3)])
    }
}
