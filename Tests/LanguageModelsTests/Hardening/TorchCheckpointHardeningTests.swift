import Foundation
@testable import LanguageModels
import Testing

/// nanoGPT's `ckpt.pt` as an attacker or a damaged disk hands it over: every integer of the file checked before it
/// is used, element counts checked against the storage before anything is allocated, and each ZIP entry's CRC-32.
@Suite struct TorchCheckpointHardeningTests {
    static let fixtures = TorchCheckpointTests.fixtures

    /// One tensor `t` over storage `s` of `elements` floats (0, 1, 2, ...).
    static func single(offset: Int = 0, shape: [Int], strides: [Int], elements: Int = 16, declared: Int? = nil) -> Data {
        torchFile([("t", "s", declared ?? elements, offset, shape, strides)], storages: ["s": (0..<elements).map(Float.init)])
    }

    static func refused(_ data: Data, saying text: String) -> Bool {
        do {
            _ = try TorchCheckpoint(data: data, source: "hostile.pt")
            return false
        } catch {
            return error is GPTError && "\(error)".contains(text)
        }
    }

    // MARK: - CRC-32

    @Test func crc32MatchesZlib() throws {
        func crc(_ text: String) -> UInt32 { Array(text.utf8).withUnsafeBytes { CRC32.checksum($0) } }
        // zlib.crc32 of each (Python).
        #expect(crc("") == 0)
        #expect(crc("123456789") == 0xCBF4_3926)
        #expect(crc("The quick brown fox jumps over the lazy dog") == 0x414F_A339)
        // The CRC-32s torch.save recorded (Python's zipfile.ZipFile("char.pt").getinfo(name).CRC).
        let archive = try ZipArchive(data: Data(contentsOf: Self.fixtures.appendingPathComponent("char.pt")), source: "char.pt")
        let recorded = Dictionary(uniqueKeysWithValues: archive.entries.map { ($0.name, $0.checksum) })
        #expect(recorded["char/data.pkl"] == 0x58F3_BD82 && recorded["char/data/28"] == 0x6856_BE0C)
        for entry in archive.entries {
            let computed = archive.data[entry.range].withUnsafeBytes { CRC32.checksum($0) }
            #expect(computed == entry.checksum, "\(entry.name)")
        }
    }

    @Test func aFlippedByteInAnEntryIsRefused() throws {
        let original = try Data(contentsOf: Self.fixtures.appendingPathComponent("char.pt"))
        let archive = try ZipArchive(data: original, source: "char.pt")
        for name in ["char/data/0", "char/data.pkl"] {
            let range = try #require(archive.entries.first { $0.name == name }).range
            var damaged = original
            // A weight's low mantissa bit (imports as another weight), or a bit of a pickled string.
            damaged[range.lowerBound + range.count / 2] ^= 0x01
            #expect(Self.refused(damaged, saying: "CRC-32"), "\(name)")
        }
    }

    // MARK: - Strides, offsets and counts

    @Test func aHandMadeFileReadsItsViews() throws {
        // A 2x3 view with strides (1, 2) from offset 1 of 0, 1, ..., 7: the transpose of [[1, 3, 5], [2, 4, 6]]'s rows.
        let data = torchFile([("t", "s", 8, 1, [3, 2], [2, 1]), ("u", "s", 8, 1, [2, 3], [1, 2])], storages: ["s": (0..<8).map(Float.init)])
        let checkpoint = try TorchCheckpoint(data: data, source: "views.pt")
        #expect(checkpoint.tensors["t"]?.shape == [3, 2] && checkpoint.tensors["t"]?.values == [1, 2, 3, 4, 5, 6])
        #expect(checkpoint.tensors["u"]?.shape == [2, 3] && checkpoint.tensors["u"]?.values == [1, 3, 5, 2, 4, 6])
    }

    @Test(arguments: [
        (1 << 62, [2], [1 << 62]),  // offset + (2 - 1) * stride = 2^63
        (0, [3], [1 << 62]),  // (3 - 1) * 2^62
        (1 << 62, [1 << 40, 2], [0, 1 << 62]),
        (Int.max, [2], [1]),
        (0, [2, 2], [Int.min, 1]),
        (0, [2], [-1]),
        (-1, [2], [1]),
    ])
    func stridesAndOffsetsNearTheLimitsAreErrors(offset: Int, shape: [Int], strides: [Int]) {
        #expect(Self.refused(Self.single(offset: offset, shape: shape, strides: strides), saying: "tensor t"))
    }

    @Test func anExpandedViewIsRefusedBeforeAllocating() {
        // A stride-0 tensor of 2^40 elements (4 TB as fp32) and one of 2^31 (8 GB), both from 64 bytes.
        #expect(Self.refused(Self.single(shape: [1 << 40], strides: [0]), saying: "tensor t"))
        #expect(Self.refused(Self.single(shape: [1 << 31], strides: [0]), saying: "tensor t"))
        #expect(Self.refused(Self.single(shape: [4, 8], strides: [0, 1]), saying: "tensor t"))
    }

    @Test func viewsMayNotRepeatTheFileOverAndOver() {
        // 300 tensors, each a whole view of one 1,000-float storage: 300,000 floats from a file of about 60 kB.
        let tensors = (0..<300).map { (name: "t\($0)", storage: "s", count: 1000, offset: 0, shape: [1000], strides: [1]) }
        let data = torchFile(tensors, storages: ["s": [Float](repeating: 1, count: 1000)])
        #expect(Self.refused(data, saying: "more elements"))
        // Two views of it (tied weights: nanoGPT's wte and lm_head share one storage) read.
        #expect(throws: Never.self) { try TorchCheckpoint(data: torchFile(Array(tensors.prefix(2)), storages: ["s": [Float](repeating: 1, count: 1000)]), source: "tied.pt") }
    }

    @Test func aStorageWhoseSizeDisagreesWithItsRecordIsRefused() {
        #expect(Self.refused(Self.single(shape: [4], strides: [1], elements: 16, declared: 1 << 61), saying: "storage s"))
        #expect(Self.refused(Self.single(shape: [4], strides: [1], elements: 16, declared: 15), saying: "storage s"))
    }

    @Test func tooManyDimensionsAreRefused() {
        #expect(Self.refused(Self.single(shape: [Int](repeating: 1, count: 10_000), strides: [Int](repeating: 1, count: 10_000)),
                             saying: "tensor t"))
    }
}
