import Foundation

/// A reader of GGUF written from the format's description (ggml's `docs/gguf.md`), independent of the package's
/// writer: the oracle of ``GGUFTests``. It checks as it reads what llama.cpp's `gguf.cpp` checks (the magic, a
/// known version, known value types, tensor offsets aligned and in order) and throws on anything else.
struct GGUFFile {
    struct Failure: Error, CustomStringConvertible { let description: String }

    struct TensorInfo {
        let name: String
        /// `ne`, the fastest-moving dimension first.
        let dimensions: [Int]
        let type: UInt32
        let offset: Int
        var byteCount: Int { dimensions.reduce(1, *) * (type == 0 ? 4 : 2) }
    }

    var version: UInt32 = 0
    var keys: [String] = []
    /// Each key's `gguf_type`.
    var types: [String: UInt32] = [:]
    var numbers: [String: Int] = [:]
    var strings: [String: [String]] = [:]
    var int32s: [String: [Int32]] = [:]
    var tensors: [TensorInfo] = []
    var dataStart = 0
    var byteCount = 0
    private let data: Data

    init(_ data: Data) throws {
        self.data = data
        byteCount = data.count
        var position = 0
        func bytes(_ count: Int) throws -> Data {
            guard count >= 0, position + count <= data.count else { throw Failure(description: "truncated at \(position)") }
            defer { position += count }
            return data.subdata(in: (data.startIndex + position)..<(data.startIndex + position + count))
        }
        func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
            try bytes(MemoryLayout<T>.size).withUnsafeBytes { T(littleEndian: $0.loadUnaligned(as: T.self)) }
        }
        func string() throws -> String {
            let count = Int(try integer(UInt64.self))
            guard let text = String(data: try bytes(count), encoding: .utf8) else { throw Failure(description: "a string is not UTF-8") }
            return text
        }
        guard try bytes(4) == Data("GGUF".utf8) else { throw Failure(description: "no GGUF magic") }
        version = try integer(UInt32.self)
        guard version == 2 || version == 3 else { throw Failure(description: "version \(version)") }
        let tensorCount = Int(try integer(UInt64.self))
        let keyCount = Int(try integer(UInt64.self))
        var alignment = 32
        for _ in 0..<keyCount {
            let key = try string()
            let type = try integer(UInt32.self)
            keys.append(key)
            types[key] = type
            switch type {
            case 4: numbers[key] = Int(try integer(UInt32.self))
            case 5: numbers[key] = Int(try integer(Int32.self))
            case 6: _ = try integer(UInt32.self)
            case 7:
                let flag = try integer(UInt8.self)
                guard flag <= 1 else { throw Failure(description: "\(key): bool \(flag)") }
                numbers[key] = Int(flag)
            case 8: strings[key] = [try string()]
            case 9:
                let element = try integer(UInt32.self)
                let count = Int(try integer(UInt64.self))
                switch element {
                case 8: strings[key] = try (0..<count).map { _ in try string() }
                case 5: int32s[key] = try (0..<count).map { _ in try integer(Int32.self) }
                default: throw Failure(description: "\(key): array of type \(element)")
                }
            default: throw Failure(description: "\(key): type \(type)")
            }
            if key == "general.alignment" { alignment = numbers[key] ?? 32 }
        }
        for _ in 0..<tensorCount {
            let name = try string()
            let dimensionCount = Int(try integer(UInt32.self))
            guard (1...4).contains(dimensionCount) else { throw Failure(description: "\(name): \(dimensionCount) dimensions") }
            let dimensions = try (0..<dimensionCount).map { _ in Int(try integer(UInt64.self)) }
            let type = try integer(UInt32.self)
            guard [0, 1, 30].contains(type) else { throw Failure(description: "\(name): type \(type)") }
            let offset = Int(try integer(UInt64.self))
            guard offset % alignment == 0 else { throw Failure(description: "\(name): offset \(offset) unaligned") }
            tensors.append(TensorInfo(name: name, dimensions: dimensions, type: type, offset: offset))
        }
        guard position <= data.count else { throw Failure(description: "truncated tensor table") }
        dataStart = (position + alignment - 1) / alignment * alignment
        guard data[data.startIndex + position..<data.startIndex + min(dataStart, data.count)].allSatisfy({ $0 == 0 }) else {
            throw Failure(description: "the padding before the data is not zeros")
        }
        for tensor in tensors where dataStart + tensor.offset + tensor.byteCount > data.count {
            throw Failure(description: "\(tensor.name) runs past the end of the file")
        }
    }

    /// The values of the tensor `name`, widened from f16 or bf16.
    func floats(_ name: String) throws -> [Float] {
        guard let tensor = tensors.first(where: { $0.name == name }) else { throw Failure(description: "no tensor \(name)") }
        let start = data.startIndex + dataStart + tensor.offset
        let count = tensor.dimensions.reduce(1, *)
        return data[start..<(start + tensor.byteCount)].withUnsafeBytes { raw in
            (0..<count).map { i in
                switch tensor.type {
                case 0: Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case 1: Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                default: Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                }
            }
        }
    }
}
