import Foundation

/// The stored (uncompressed) entries of a ZIP archive, as `torch.save` writes them: read from the central
/// directory, every offset and size checked against the file before use, and each entry's CRC-32 checked when it is
/// read. Compressed entries and ZIP64 archives (over 4 GB) are refused with a clear error.
public struct ZipArchive {
    public let data: Data
    /// Each entry's name, the range of its bytes in ``data``, and the CRC-32 the central directory records for it.
    public let entries: [(name: String, range: Range<Int>, checksum: UInt32)]
    /// The index in ``entries`` of the first entry of each name below the archive's top folder (`archive/data/0`
    /// is `data/0`: `torch.save` puts every entry in a folder named after the archive).
    let indexByRelativeName: [String: Int]
    let source: String

    public init(data: Data, source: String) throws {
        func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: source, reason: "not a readable ZIP archive: \(reason)") }
        self.data = data
        self.source = source
        let count = data.count
        // Little-endian fields, each checked to lie inside the file (`at` and the results are at most 2^32 plus the
        // file's size, so sums of them cannot overflow).
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at <= count - 2 else { throw fail("a record runs past the end of the file") }
            return data.withUnsafeBytes { Int(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        }
        func u32(_ at: Int) throws -> Int {
            let low = try u16(at), high = try u16(at + 2)
            return low | high << 16
        }
        // The end-of-central-directory record: in the last 64 KiB + 22 bytes.
        var end = -1
        var position = count - 22
        while position >= max(0, count - 65_557) {
            if try u32(position) == 0x0605_4B50 {
                end = position
                break
            }
            position -= 1
        }
        guard end >= 0 else { throw fail("no end-of-central-directory record (truncated?)") }
        let entryCount = try u16(end + 10), directorySize = try u32(end + 12), directoryOffset = try u32(end + 16)
        guard entryCount != 0xFFFF, directoryOffset != 0xFFFF_FFFF else { throw fail("ZIP64 archives (over 4 GB) are not supported") }
        guard directoryOffset + directorySize <= end else { throw fail("the central directory lies outside the file") }
        var entries: [(String, Range<Int>, UInt32)] = [], index: [String: Int] = [:]
        var record = directoryOffset
        for _ in 0..<entryCount {
            guard try u32(record) == 0x0201_4B50 else { throw fail("a damaged central directory entry") }
            let method = try u16(record + 10), checksum = UInt32(try u32(record + 16))
            let compressed = try u32(record + 20), size = try u32(record + 24)
            let nameLength = try u16(record + 28), extraLength = try u16(record + 30), commentLength = try u16(record + 32)
            let local = try u32(record + 42)
            guard record + 46 + nameLength <= count else { throw fail("an entry name runs past the end") }
            let name = data.withUnsafeBytes { String(decoding: $0[(record + 46)..<(record + 46 + nameLength)], as: UTF8.self) }
            guard method == 0, compressed == size else {
                throw fail("entry \(name.prefix(80)) is compressed (method \(method)); torch.save stores entries uncompressed")
            }
            guard try u32(local) == 0x0403_4B50 else { throw fail("entry \(name.prefix(80)) has no local header") }
            let localName = try u16(local + 26), localExtra = try u16(local + 28)
            let start = local + 30 + localName + localExtra
            guard start + size <= directoryOffset else { throw fail("entry \(name.prefix(80)) runs past its bounds") }
            if let slash = name.firstIndex(of: "/") {
                let relative = String(name[name.index(after: slash)...])
                if index[relative] == nil { index[relative] = entries.count }
            }
            entries.append((name, start..<(start + size), checksum))
            record += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
        indexByRelativeName = index
    }

    /// The bytes of the entry `<archive>/relativeName` (nil if there is none), after checking its CRC-32.
    public func entry(_ relativeName: String) throws -> Data? {
        guard let index = indexByRelativeName[relativeName] else { return nil }
        let (name, range, expected) = entries[index]
        let (bytes, actual) = data.withUnsafeBytes { raw in
            let slice = UnsafeRawBufferPointer(rebasing: raw[range])
            return (Data(slice), CRC32.checksum(slice))
        }
        guard actual == expected else {
            throw GPTError.invalidCheckpoint(path: source, reason: "entry \(name.prefix(80)) is damaged: its CRC-32 is "
                + "\(String(actual, radix: 16)), the archive records \(String(expected, radix: 16))")
        }
        return bytes
    }
}

/// The CRC-32 of ZIP, gzip and PNG (polynomial 0xEDB88320, reflected, initial and final XOR 0xFFFFFFFF), a byte
/// at a time from a 256-entry table. `checksum("123456789") == 0xCBF43926`.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { byte in
        (0..<8).reduce(UInt32(byte)) { crc, _ in crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        table.withUnsafeBufferPointer { table in
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes { crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8) }
            return ~crc
        }
    }
}
