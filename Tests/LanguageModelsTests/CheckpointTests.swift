import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

@Suite struct CheckpointTests {

    @Test(arguments: [ModelConfiguration.ModelType.bigram, .gpt])
    func saveAndLoadGiveTheSameLogits(type: ModelConfiguration.ModelType) throws {
        var generator = SeededGenerator(seed: 1)
        let configuration = type == .gpt ? AttentionTests.tinyConfiguration() : .bigram(vocabSize: 11)
        let model = try makeModel(configuration, generator: &generator)
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghijk"))
        let directory = temporaryDirectory("checkpoint")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Checkpoint(model: model, tokenizer: tokenizer).save(to: directory)
        let loaded = try Checkpoint.load(from: directory)
        #expect(loaded.tokenizer == tokenizer)
        #expect(loaded.model.configuration == configuration)
        let idx = [1, 5, 2, 8]
        #expect(loaded.model.forward(idx).logits.values == model.forward(idx).logits.values)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "temporary files left behind: \(leftovers)")
    }

    @Test func damagedCheckpointsAreTypedErrors() throws {
        var generator = SeededGenerator(seed: 1)
        let model = try makeModel(AttentionTests.tinyConfiguration(), generator: &generator)
        let directory = temporaryDirectory("checkpoint")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: "abcdefghijk"))
        try Checkpoint(model: model, tokenizer: tokenizer).save(to: directory)
        let weights = directory.appendingPathComponent(Checkpoint.weightsFile)
        let original = try Data(contentsOf: weights)

        try original.prefix(original.count - 10).write(to: weights)  // truncated
        #expect(throws: GPTError.self) { try Checkpoint.load(from: directory) }
        try original.write(to: weights)

        // A tokenizer whose vocabulary does not match the embedding rows.
        let tokenizerFile = directory.appendingPathComponent(Checkpoint.tokenizerFile)
        let tokenizerData = try Data(contentsOf: tokenizerFile)
        try JSONEncoder().encode(Tokenizer.character(CharacterTokenizer(training: "abc"))).write(to: tokenizerFile)
        #expect(throws: GPTError.self) { try Checkpoint.load(from: directory) }
        try tokenizerData.write(to: tokenizerFile)

        // A config that does not fit the stored tensors: refused from the counts, before a model is built.
        var bigger = AttentionTests.tinyConfiguration()
        bigger.embeddingSize = 16
        let configFile = directory.appendingPathComponent(Checkpoint.configurationFile)
        try JSONEncoder().encode(bigger).write(to: configFile)
        #expect {
            try Checkpoint.load(from: directory)
        } throws: { error in
            "\(error)".contains("but config.json describes a model of \(try! bigger.parameterCount()) parameters")
        }
        try Data("{not json".utf8).write(to: configFile)
        #expect(throws: GPTError.self) { try Checkpoint.load(from: directory) }
        #expect(throws: GPTError.self) { try Checkpoint.load(from: directory.appendingPathComponent("nope")) }
    }
}

@Suite struct SafeTensorsTests {
    func validFile() throws -> Data {
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [-1]
        return try a.withUnsafeBufferPointer { pa in
            try b.withUnsafeBufferPointer { pb in
                try SafeTensors.encode([(name: "a", shape: [2, 3], values: pa), (name: "b", shape: [1], values: pb)],
                                       metadata: ["format": "pt"])
            }
        }
    }

    @Test func roundTrip() throws {
        let file = try SafeTensors.decode(try validFile())
        #expect(file.tensors["a"]?.shape == [2, 3] && file.tensors["a"]?.values == [1, 2, 3, 4, 5, 6])
        #expect(file.tensors["b"]?.values == [-1] && file.metadata == ["format": "pt"])
    }

    /// A file with the given JSON header and data buffer.
    func file(header: String, data: [UInt8]) -> Data {
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        return bytes
    }

    @Test func everyRuleBrokenIsATypedError() throws {
        let four = [UInt8](repeating: 0, count: 4)
        let cases: [(String, Data)] = [
            ("short", Data([1, 2, 3])),
            ("huge header", Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])),
            ("header past end", file(header: "{}", data: []).prefix(9)),
            ("not json", file(header: "{nope", data: [])),
            ("not object", file(header: "[1]", data: [])),
            ("bad dtype", file(header: #"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,4]}}"#, data: four)),
            ("negative shape", file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four)),
            ("fraction", file(header: #"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: four)),
            ("size mismatch", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: four)),
            ("past end", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: four)),
            ("gap", file(header: #"{"a":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}}"#, data: four)),
            ("trailing bytes", file(header: #"{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#, data: four)),
            ("overlap", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}}"#, data: four)),
            ("overflow", file(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: four)),
            ("bad metadata", file(header: #"{"__metadata__":{"a":1}}"#, data: [])),
        ]
        for (name, data) in cases {
            #expect(throws: GPTError.self, "\(name)") { try SafeTensors.decode(data) }
        }
    }

    @Test func truncationsAndByteFlipsNeverTrap() throws {
        let valid = try validFile()
        for length in 0..<valid.count {
            _ = try? SafeTensors.decode(valid.prefix(length))
        }
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<3000 {
            var damaged = valid
            let index = generator.nextInt(below: damaged.count)
            damaged[index] ^= UInt8(1 + generator.nextInt(below: 255))
            do { _ = try SafeTensors.decode(damaged) } catch { #expect(error is GPTError) }
        }
    }

    @Test func halfPrecisionIsRead() throws {
        // 1.0 in F16 is 0x3C00; in BF16 0x3F80.
        let f16 = file(header: #"{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#, data: [0x00, 0x3C])
        #expect(try SafeTensors.decode(f16).tensors["a"]?.values == [1])
        let bf16 = file(header: #"{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}"#, data: [0x80, 0x3F])
        #expect(try SafeTensors.decode(bf16).tensors["a"]?.values == [1])
    }
}
