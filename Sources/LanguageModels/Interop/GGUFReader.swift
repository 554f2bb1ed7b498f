import Foundation

// Reading GGUF (versions 2 and 3, little-endian), as llama.cpp's `ggml/src/gguf.cpp` reads it, with every count,
// length, offset and size checked against the bytes that are there before anything is allocated for it.

extension GGUF {
    /// One tensor of a file: its name, its row-major shape (``GGUF`` stores `ne`, the fastest dimension first: it
    /// is reversed here), its type, and where its bytes are (from the start of the data section).
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let type: TensorType
        public let offset: Int
        public var byteCount: Int { type.byteCount(shape.reduce(1, *)) }
    }

    /// A parsed GGUF file: the metadata by key, the tensor table, and the bytes (mapped, not copied, when read
    /// from disk). A file that breaks the format throws ``GPTError/invalidGGUF(field:reason:)`` naming the key,
    /// the tensor or the header field: truncated, an absurd count or length, an unknown value type, a nested array,
    /// a repeated key or tensor name, an alignment that is not a power of two, a tensor of more than four
    /// dimensions, of a type this package does not read, whose rows are not whole blocks, whose offset is not
    /// aligned, runs past the end or overlaps another.
    public struct File: Sendable {
        public let version: UInt32
        public let metadata: [String: Value]
        public let tensors: [TensorInfo]
        public let alignment: Int
        let data: Data
        let dataStart: Int

        /// The GGUF file at `url`.
        public static func read(_ url: URL) throws -> File {
            let data: Data
            do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
                throw GPTError.unreadableFile(path: url.path, reason: error.localizedDescription)
            }
            return try File(data)
        }

        public init(_ data: Data) throws {
            var reader = ByteReader(data: data)
            guard try reader.bytes(4, "magic").elementsEqual("GGUF".utf8) else {
                throw GPTError.invalidGGUF(field: "magic", reason: "the file does not start with GGUF")
            }
            version = try reader.integer(UInt32.self, "version")
            guard version == 2 || version == 3 else {
                throw GPTError.invalidGGUF(field: "version", reason: "is \(version); this package reads versions 2 and 3 (little-endian)")
            }
            let tensorCount = try reader.count("tensor_count", atLeast: 32)
            let keyCount = try reader.count("kv_count", atLeast: 13)
            var metadata: [String: Value] = [:]
            for _ in 0..<keyCount {
                let key = try reader.string("a metadata key")
                let value = try reader.value(for: key)
                guard metadata.updateValue(value, forKey: key) == nil else {
                    throw GPTError.invalidGGUF(field: key, reason: "appears twice in the metadata")
                }
            }
            self.metadata = metadata
            var alignment = GGUF.alignment
            if let value = metadata["general.alignment"] {
                guard case .uint32(let a) = value, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                    throw GPTError.invalidGGUF(field: "general.alignment", reason: "must be a uint32 power of two up to 1 MiB, got \(value)")
                }
                alignment = Int(a)
            }
            self.alignment = alignment
            var tensors: [TensorInfo] = []
            var names = Set<String>()
            for _ in 0..<tensorCount {
                let tensor = try reader.tensorInfo()
                guard names.insert(tensor.name).inserted else {
                    throw GPTError.invalidGGUF(field: tensor.name, reason: "is the name of two tensors")
                }
                tensors.append(tensor)
            }
            dataStart = (reader.position + alignment - 1) / alignment * alignment
            let available = max(0, data.count - dataStart)
            var end = 0, previous = ""
            for tensor in tensors.sorted(by: { $0.offset < $1.offset }) {
                guard tensor.offset % alignment == 0 else {
                    throw GPTError.invalidGGUF(field: tensor.name, reason: "starts at offset \(tensor.offset), not a multiple of the alignment \(alignment)")
                }
                guard tensor.offset <= available, tensor.byteCount <= available - tensor.offset else {
                    throw GPTError.invalidGGUF(field: tensor.name, reason: "has \(tensor.byteCount) bytes at offset \(tensor.offset), "
                        + "past the end of the \(available) bytes of tensor data (truncated file?)")
                }
                guard tensor.offset >= end else {
                    throw GPTError.invalidGGUF(field: tensor.name, reason: "overlaps the tensor \(previous)")
                }
                (end, previous) = (tensor.offset + tensor.byteCount, tensor.name)
            }
            (self.tensors, self.data) = (tensors, data)
        }

        /// The tensor called `name`, if the file has one.
        public func tensor(_ name: String) -> TensorInfo? { tensors.first { $0.name == name } }

        /// The values of `tensor`, row-major, as `Float` (f16, bf16 and Q8_0 converted exactly).
        public func values(_ tensor: TensorInfo) -> [Float] {
            let count = tensor.shape.reduce(1, *), start = dataStart + tensor.offset
            return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
                let base = raw.baseAddress! + start
                func u16(_ at: Int) -> UInt16 { UInt16(littleEndian: (base + at).loadUnaligned(as: UInt16.self)) }
                return [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    switch tensor.type {
                    case .f32:
                        for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: (base + 4 * i).loadUnaligned(as: UInt32.self))) }
                    case .f16: for i in 0..<count { out[i] = Float(Float16(bitPattern: u16(2 * i))) }
                    case .bf16: for i in 0..<count { out[i] = Float(bitPattern: UInt32(u16(2 * i)) << 16) }
                    case .q8_0:
                        for block in 0..<(count / 32) {
                            let d = Float(Float16(bitPattern: u16(34 * block)))
                            for i in 0..<32 { out[32 * block + i] = d * Float(Int8(bitPattern: (base + 34 * block + 2 + i).load(as: UInt8.self))) }
                        }
                    }
                    initialized = count
                }
            }
        }
    }
}

/// A cursor over a GGUF file's bytes whose every read is checked against the end first.
struct ByteReader {
    let data: Data
    var position = 0

    func fail(_ field: String, _ reason: String) -> GPTError { .invalidGGUF(field: String(field.prefix(80)), reason: reason) }

    var remaining: Int { data.count - position }

    mutating func bytes(_ count: Int, _ field: String) throws -> Data {
        guard count >= 0, count <= remaining else {
            throw fail(field, "needs \(count) bytes at offset \(position), but the file ends \(remaining) bytes later (truncated file?)")
        }
        defer { position += count }
        return data.subdata(in: (data.startIndex + position)..<(data.startIndex + position + count))
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type, _ field: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw fail(field, "the file ends at offset \(data.count) inside it (truncated file?)") }
        defer { position += size }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in T(littleEndian: (raw.baseAddress! + position).loadUnaligned(as: T.self)) }
    }

    /// A u64 count of things each at least `atLeast` bytes long: no more than the rest of the file could hold.
    mutating func count(_ field: String, atLeast size: Int) throws -> Int {
        let count = try integer(UInt64.self, field)
        guard count <= UInt64(remaining / size) else {
            throw fail(field, "is \(count), more than the \(remaining) bytes left could hold")
        }
        return Int(count)
    }

    /// A u64 length, then that many bytes of UTF-8.
    mutating func string(_ field: String) throws -> String {
        let length = try count(field, atLeast: 1)
        guard let text = String(data: try bytes(length, field), encoding: .utf8) else {
            throw fail(field, "is not UTF-8 (at offset \(position - length))")
        }
        return text
    }

    /// A value of `gguf_type` `type` (scalars only).
    mutating func scalar(_ type: UInt32, _ key: String) throws -> GGUF.Value {
        switch type {
        case 0: .uint32(UInt32(try integer(UInt8.self, key)))
        case 1: .int32(Int32(try integer(Int8.self, key)))
        case 2: .uint32(UInt32(try integer(UInt16.self, key)))
        case 3: .int32(Int32(try integer(Int16.self, key)))
        case 4: .uint32(try integer(UInt32.self, key))
        case 5: .int32(try integer(Int32.self, key))
        case 6: .float32(Float(bitPattern: try integer(UInt32.self, key)))
        case 7:
            switch try integer(UInt8.self, key) {
            case 0: .bool(false)
            case 1: .bool(true)
            case let byte: throw fail(key, "is a bool of value \(byte), neither 0 nor 1")
            }
        case 8: .string(try string(key))
        case 10: .uint64(try integer(UInt64.self, key))
        case 11: .int64(try integer(Int64.self, key))
        case 12: .float64(Double(bitPattern: try integer(UInt64.self, key)))
        default: throw fail(key, "has the unknown value type \(type)")
        }
    }

    /// The value of metadata key `key`: its type, then a scalar or an array of one scalar type.
    mutating func value(for key: String) throws -> GGUF.Value {
        let type = try integer(UInt32.self, key)
        guard type == 9 else { return try scalar(type, key) }
        let elementType = try integer(UInt32.self, key)
        let sizes: [UInt32: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 10: 8, 11: 8, 12: 8]
        guard let size = sizes[elementType] else {
            throw fail(key, elementType == 9 ? "is an array of arrays, which GGUF readers refuse" : "is an array of the unknown type \(elementType)")
        }
        let count = try self.count(key, atLeast: size)
        switch elementType {
        case 8:
            var items: [String] = []
            for _ in 0..<count { items.append(try string(key)) }
            return .strings(items)
        case 6:
            return .float32s(try (0..<count).map { _ in Float(bitPattern: try integer(UInt32.self, key)) })
        case 10, 11, 12:
            position += count * size
            return .skipped(elementType: elementType, count: count)
        default:
            return .int32s(try (0..<count).map { _ in
                switch try scalar(elementType, key) {
                case .int32(let v): return v
                case .bool(let v): return v ? 1 : 0
                case .uint32(let v) where v <= UInt32(Int32.max): return Int32(v)
                case let other: throw fail(key, "holds \(other), past the int32 range this reader keeps")
                }
            })
        }
    }

    /// One entry of the tensor table: name, dimensions, type, offset.
    mutating func tensorInfo() throws -> GGUF.TensorInfo {
        let name = try string("a tensor name")
        guard name.utf8.count < 64 else { throw fail(name, "is longer than GGUF's 63-byte tensor names") }
        let dimensionCount = try integer(UInt32.self, name)
        guard (1...4).contains(dimensionCount) else {
            throw fail(name, "has \(dimensionCount) dimensions; GGUF tensors have 1 to 4")
        }
        var ne: [Int] = [], elements = 1
        for _ in 0..<dimensionCount {
            let dimension = try integer(UInt64.self, name)
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(clamping: dimension))
            guard dimension >= 1, dimension < 1 << 40, !overflow, product < 1 << 40 else {
                throw fail(name, "has a dimension of \(dimension): each must be at least 1, and the tensor under 2^40 values")
            }
            (elements, ne) = (product, ne + [Int(dimension)])
        }
        let code = try integer(UInt32.self, name)
        guard let type = GGUF.TensorType(rawValue: code) else {
            throw fail(name, "has the type \(GGUF.typeName(code)); this package reads F32, F16, BF16 and Q8_0")
        }
        guard ne[0] % type.blockSize == 0 else {
            throw fail(name, "has rows of \(ne[0]) values, not whole blocks of \(type.blockSize) (\(type.name))")
        }
        let offset = try integer(UInt64.self, name)
        guard offset <= UInt64(Int.max / 2) else { throw fail(name, "has the offset \(offset), past any file") }
        return GGUF.TensorInfo(name: name, shape: ne.reversed(), type: type, offset: Int(offset))
    }
}

extension GGUF {
    /// A `ggml_type` by its name in llama.cpp (`Q4_K (12)`), for messages.
    static func typeName(_ code: UInt32) -> String {
        let names: [UInt32: String] = [0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0",
                                       9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
                                       24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 30: "BF16"]
        return names[code].map { "\($0) (\(code))" } ?? "\(code), unknown"
    }
}
