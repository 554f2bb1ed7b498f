import Foundation
@testable import LanguageModels

/// Hostile `torch.save` files made by hand: a pickle written opcode by opcode (the opcodes of Python's
/// `pickletools`) and a stored ZIP around it, so a test can put any shape, stride, offset or count in a tensor.
struct PickleWriter {
    var bytes: [UInt8] = [0x80, 0x02]  // PROTO 2

    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        bytes.append(0x58)  // BINUNICODE
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes += $0 }
        bytes += utf8
    }

    /// LONG1 with 8 bytes: any Int, two's complement.
    mutating func integer(_ value: Int) {
        bytes += [0x8A, 8]
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
    mutating func mark() { bytes.append(0x28) }
    mutating func tuple() { bytes.append(0x74) }
    mutating func emptyDict() { bytes.append(0x7D) }
    mutating func setItems() { bytes.append(0x75) }
    mutating func stop() { bytes.append(0x2E) }

    mutating func tuple(of values: [Int]) {
        mark()
        values.forEach { integer($0) }
        tuple()
    }

    /// `torch._utils._rebuild_tensor_v2(storage, offset, shape, strides, False, OrderedDict())`, its storage a
    /// persistent id `("storage", torch.FloatStorage, key, "cpu", count)`.
    mutating func tensor(storage key: String, count: Int, offset: Int, shape: [Int], strides: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark()
        string("storage")
        global("torch", "FloatStorage")
        string(key)
        string("cpu")
        integer(count)
        tuple()
        bytes.append(0x51)  // BINPERSID
        integer(offset)
        tuple(of: shape)
        tuple(of: strides)
        bytes.append(0x89)  // NEWFALSE
        global("collections", "OrderedDict")
        bytes += [0x29, 0x52]  // EMPTY_TUPLE, REDUCE
        tuple()
        bytes.append(0x52)  // REDUCE
    }

    /// A nanoGPT checkpoint's pickle: `{"model": {name: tensor, ...}}`.
    static func checkpoint(_ tensors: [(name: String, storage: String, count: Int, offset: Int, shape: [Int], strides: [Int])]) -> [UInt8] {
        var writer = PickleWriter()
        writer.emptyDict()
        writer.mark()
        writer.string("model")
        writer.emptyDict()
        writer.mark()
        for tensor in tensors {
            writer.string(tensor.name)
            writer.tensor(storage: tensor.storage, count: tensor.count, offset: tensor.offset, shape: tensor.shape, strides: tensor.strides)
        }
        writer.setItems()
        writer.setItems()
        writer.stop()
        return writer.bytes
    }
}

/// A ZIP of stored entries, as `torch.save` writes one (no data descriptors, no compression).
func storedZip(_ entries: [(name: String, bytes: [UInt8])]) -> Data {
    var out: [UInt8] = [], directory: [UInt8] = []
    func u16(_ value: Int, into buffer: inout [UInt8]) { withUnsafeBytes(of: UInt16(value).littleEndian) { buffer += $0 } }
    func u32(_ value: Int, into buffer: inout [UInt8]) { withUnsafeBytes(of: UInt32(value).littleEndian) { buffer += $0 } }
    for (name, bytes) in entries {
        let crc = Int(bytes.withUnsafeBytes { CRC32.checksum($0) }), offset = out.count, utf8 = Array(name.utf8)
        u32(0x0403_4B50, into: &out)
        for value in [20, 0, 0, 0, 0] { u16(value, into: &out) }  // version, flags, method, time, date
        for value in [crc, bytes.count, bytes.count] { u32(value, into: &out) }
        for value in [utf8.count, 0] { u16(value, into: &out) }
        out += utf8 + bytes
        u32(0x0201_4B50, into: &directory)
        for value in [20, 20, 0, 0, 0, 0] { u16(value, into: &directory) }  // made by, needed, flags, method, time, date
        for value in [crc, bytes.count, bytes.count] { u32(value, into: &directory) }
        for value in [utf8.count, 0, 0, 0, 0] { u16(value, into: &directory) }  // name, extra, comment, disk, internal
        for value in [0, offset] { u32(value, into: &directory) }  // external attributes, local header
        directory += utf8
    }
    let directoryOffset = out.count
    out += directory
    u32(0x0605_4B50, into: &out)
    for value in [0, 0, entries.count, entries.count] { u16(value, into: &out) }
    for value in [directory.count, directoryOffset] { u32(value, into: &out) }
    u16(0, into: &out)
    return Data(out)
}

/// A `ckpt.pt` of the given tensors over the given float storages.
func torchFile(_ tensors: [(name: String, storage: String, count: Int, offset: Int, shape: [Int], strides: [Int])],
               storages: [String: [Float]]) -> Data {
    storedZip([("archive/data.pkl", PickleWriter.checkpoint(tensors))] + storages.sorted { $0.key < $1.key }.map { key, values in
        ("archive/data/\(key)", values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } })
    })
}
