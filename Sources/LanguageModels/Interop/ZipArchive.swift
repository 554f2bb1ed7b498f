import Foundation

/// The stored (uncompressed) entries of a ZIP archive, as `torch.save` writes them: read from the central
/// directory, every offset and size checked against the file before use. Compressed entries and ZIP64 archives
/// (over 4 GB) are refused with a clear error.
public struct ZipArchive {
    public let data: Data
    /// Each entry's name and the range of its bytes in ``data``.
    public let entries: [(name: String, range: Range<Int>)]

    public init(data: Data, source: String) throws {
        func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: source, reason: "not a readable ZIP archive: \(reason)") }
        self.data = data
        let bytes = [UInt8](data)
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at + 2 <= bytes.count else { throw fail("a record runs past the end of the file") }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) throws -> Int {
            let low = try u16(at), high = try u16(at + 2)
            return low | high << 16
        }
        // The end-of-central-directory record: in the last 64 KiB + 22 bytes.
        var end = -1
        var position = bytes.count - 22
        while position >= max(0, bytes.count - 65_557) {
            if bytes[position] == 0x50, bytes[position + 1] == 0x4B, bytes[position + 2] == 5, bytes[position + 3] == 6 {
                end = position
                break
            }
            position -= 1
        }
        guard end >= 0 else { throw fail("no end-of-central-directory record (truncated?)") }
        let count = try u16(end + 10), directorySize = try u32(end + 12), directoryOffset = try u32(end + 16)
        guard count != 0xFFFF, directoryOffset != 0xFFFF_FFFF else { throw fail("ZIP64 archives (over 4 GB) are not supported") }
        guard directoryOffset + directorySize <= end else { throw fail("the central directory lies outside the file") }
        var entries: [(String, Range<Int>)] = []
        var record = directoryOffset
        for _ in 0..<count {
            guard try u32(record) == 0x0201_4B50 else { throw fail("a damaged central directory entry") }
            let method = try u16(record + 10), compressed = try u32(record + 20), size = try u32(record + 24)
            let nameLength = try u16(record + 28), extraLength = try u16(record + 30), commentLength = try u16(record + 32)
            let local = try u32(record + 42)
            guard record + 46 + nameLength <= bytes.count else { throw fail("an entry name runs past the end") }
            let name = String(decoding: bytes[(record + 46)..<(record + 46 + nameLength)], as: UTF8.self)
            guard method == 0, compressed == size else {
                throw fail("entry \(name.prefix(80)) is compressed (method \(method)); torch.save stores entries uncompressed")
            }
            guard try u32(local) == 0x0403_4B50 else { throw fail("entry \(name.prefix(80)) has no local header") }
            let localName = try u16(local + 26), localExtra = try u16(local + 28)
            let start = local + 30 + localName + localExtra
            guard start + size <= directoryOffset else { throw fail("entry \(name.prefix(80)) runs past its bounds") }
            entries.append((name, start..<(start + size)))
            record += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
    }

    /// The bytes of the entry whose name ends with `suffix` (torch prefixes every name with the archive's own).
    public func entry(endingWith suffix: String) -> Data? {
        entries.first { $0.name.hasSuffix(suffix) }.map { data.subdata(in: $0.range) }
    }
}
