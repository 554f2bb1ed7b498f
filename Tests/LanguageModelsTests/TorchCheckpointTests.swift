import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// nanoGPT's own `ckpt.pt` and `meta.pkl`, read without Python: logits equal nanoGPT's model's on the same weights
/// (fixtures from `Scripts/make_nanogpt_fixtures.py`, which runs nanoGPT's model.py and torch.save).
@Suite struct TorchCheckpointTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("nanogpt_ckpt")

    static func expected() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("expected.json"))) as! [String: Any]
    }

    @Test(arguments: ["char", "padded", "compiled"])
    func logitsEqualNanoGPTs(name: String) throws {
        let url = Self.fixtures.appendingPathComponent("\(name).pt")
        #expect(TorchCheckpoint.isTorchFile(url))
        let checkpoint = try TorchCheckpoint(contentsOf: url)
        #expect(checkpoint.iteration == 7)
        #expect(checkpoint.tensors.keys.allSatisfy { !$0.hasPrefix("_orig_mod.") })
        let tokenizer = try characterTokenizer(fromMetaPickle: Data(contentsOf: Self.fixtures.appendingPathComponent("meta.pkl")),
                                               source: "meta.pkl")
        #expect(tokenizer.vocabularySize == 65)
        var configuration = try checkpoint.configuration(source: url.path)
        #expect(configuration.vocabSize == (name == "padded" ? 72 : 65))
        let tensors = croppingVocabulary(checkpoint.tensors, to: tokenizer.vocabularySize)
        configuration.vocabSize = tokenizer.vocabularySize
        var generator = SeededGenerator(seed: 0)
        let model = GPTLanguageModel(configuration, generator: &generator)
        try model.loadWeights(try StateDictLayout.nanoGPT.nativeTensors(tensors, configuration: configuration), source: url.path)
        let expected = try Self.expected()
        let ids = (expected["ids"] as! [Int])
        #expect(try tokenizer.encode("ROMEO:\nWhat light") == ids)
        let reference = (expected[name] as! [Double]).map(Float.init)
        let logits = model.forward(ids).logits.values
        #expect(logits.count == reference.count)
        let difference = zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference < 1e-5, "max |logit difference| \(difference)")
    }

    @Test func preparedFoldersCarryAMetaPickleNanoGPTReads() throws {
        // The meta.pkl of `gpt prepare` holds what nanoGPT's prepare.py writes (the fixture, pickled by Python),
        // and a folder with only a meta.pkl trains here.
        let text = try readCorpus(at: try bundledCorpusPath())
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: text))
        let directory = temporaryDirectory("meta")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try PreparedData.write(text: String(text.prefix(5000)) + String(text.suffix(5000)), tokenizer: tokenizer, to: directory)
        let ours = try characterTokenizer(fromMetaPickle: Data(contentsOf: directory.appendingPathComponent("meta.pkl")), source: "ours")
        let theirs = try characterTokenizer(fromMetaPickle: Data(contentsOf: Self.fixtures.appendingPathComponent("meta.pkl")), source: "theirs")
        #expect(ours == theirs && ours == tokenizer)
        try FileManager.default.removeItem(at: directory.appendingPathComponent("meta.json"))
        #expect(PreparedData.isPrepared(directory.path))
        #expect(try PreparedData.load(directory.path).tokenizer == tokenizer)
    }

    @Test func aPickleThatWouldRunCodeIsRefused() {
        // pickle.dumps of os.system("ls"): GLOBAL os system, the argument, TUPLE1, REDUCE, STOP.
        let hostile = Data([0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x58, 2, 0, 0, 0] + Array("ls".utf8) + [0x85, 0x52, 0x2E])
        #expect {
            try RestrictedPickle.read(hostile, source: "evil.pkl")
        } throws: { error in
            "\(error)".contains("refusing the global os.system")
        }
        // The same through STACK_GLOBAL (protocol 4), and builtins.eval.
        let stacked = Data([0x80, 0x04, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93, 0x2E])
        #expect(throws: GPTError.self) { try RestrictedPickle.read(stacked, source: "evil.pkl") }
    }

    @Test func deeplyNestedPicklesAreRefusedNotOverflowingTheStack() {
        // 50,000 empty lists, each appended into the one before: a value nested 50,000 deep (the fuzzer's find;
        // freeing it recursively overflowed the thread's stack).
        let depth = 50_000
        let nested = Data([0x80, 0x02] + [UInt8](repeating: 0x5D, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2E])
        #expect {
            try RestrictedPickle.read(nested, source: "nested.pkl")
        } throws: { error in
            "\(error)".contains("nested more than")
        }
        // Sixty levels, deeper than any state dict, still read.
        let fine = Data([0x80, 0x02] + [UInt8](repeating: 0x5D, count: 60) + [UInt8](repeating: 0x61, count: 59) + [0x2E])
        #expect(throws: Never.self) { try RestrictedPickle.read(fine, source: "fine.pkl") }
    }

    @Test func damagedArchivesAreTypedErrors() throws {
        let original = try Data(contentsOf: Self.fixtures.appendingPathComponent("char.pt"))
        for cut in [0, 10, 100, original.count / 2, original.count - 30, original.count - 1] {
            #expect(throws: GPTError.self, "cut at \(cut)") { try TorchCheckpoint(data: original.prefix(cut), source: "cut.pt") }
        }
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<300 {
            var damaged = original
            for _ in 0..<4 { damaged[generator.nextInt(below: damaged.count)] = UInt8(truncatingIfNeeded: generator.next()) }
            _ = try? TorchCheckpoint(data: damaged, source: "flipped.pt")  // an answer or a typed error, never a trap
        }
    }
}
