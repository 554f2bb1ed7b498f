import Foundation
import TensorModule

/// GGUF, llama.cpp's model file (version 3), written as its specification (ggml's `docs/gguf.md`) and loader
/// (`ggml/src/gguf.cpp`) describe it, everything little-endian:
///
/// ```
/// "GGUF"  u32 version  u64 tensor_count  u64 kv_count
/// kv_count x  (string key, u32 value_type, value)          string = u64 byte count, UTF-8 bytes (no NUL)
/// tensor_count x  (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
/// zero padding to `general.alignment` (32 unless the metadata says otherwise)
/// tensor data, each tensor at its offset from here, each padded to the alignment
/// ```
///
/// `ne[0]` is the fastest-moving dimension: a row-major `[rows, columns]` matrix of this package is
/// `ne = [columns, rows]` with the same bytes, so ``Tensor/shape`` is written reversed and nothing is transposed.
public enum GGUF {
    /// The version this writer produces (llama.cpp reads 2 and 3; 3 added big-endian files, not written here).
    public static let version: UInt32 = 3
    /// llama.cpp's default `general.alignment`.
    public static let alignment = 32

    /// A metadata value, with the GGUF type code it is written under. The reader (``File``) widens the narrower
    /// integer types (u8, i8, u16, i16) to `uint32`/`int32`, reads integer and bool arrays as `int32s` and keeps
    /// arrays of 64-bit numbers as `skipped` (their count only): none of the keys this package reads has them.
    public enum Value: Equatable, Sendable {
        case uint32(UInt32), int32(Int32), float32(Float), bool(Bool), string(String)
        case uint64(UInt64), int64(Int64), float64(Double)
        case strings([String]), int32s([Int32]), float32s([Float])
        case skipped(elementType: UInt32, count: Int)

        /// `gguf_type`: UINT32 4, INT32 5, FLOAT32 6, BOOL 7, STRING 8, ARRAY 9, UINT64 10, INT64 11, FLOAT64 12.
        var typeCode: UInt32 {
            switch self {
            case .uint32: 4
            case .int32: 5
            case .float32: 6
            case .bool: 7
            case .string: 8
            case .strings, .int32s, .float32s, .skipped: 9
            case .uint64: 10
            case .int64: 11
            case .float64: 12
            }
        }
    }

    /// The element types this package reads and writes (`ggml_type`: F32 0, F16 1, Q8_0 8, BF16 30). Q8_0 is
    /// llama.cpp's `block_q8_0`: blocks of 32 values along a row, each an fp16 scale `d` and 32 int8 `q`
    /// (value `d · q`), 34 bytes.
    public enum TensorType: UInt32, Sendable, CaseIterable {
        case f32 = 0, f16 = 1, q8_0 = 8, bf16 = 30

        /// Values per block (a row's length must be a multiple) and bytes per block.
        public var blockSize: Int { self == .q8_0 ? 32 : 1 }
        public var blockBytes: Int {
            switch self {
            case .f32: 4
            case .f16, .bf16: 2
            case .q8_0: 34
            }
        }
        /// The type a tensor of `shape` is stored as when the matrices are this type: vectors (norms, biases) and
        /// matrices whose rows are not whole blocks stay f32.
        public func storage(for shape: [Int]) -> TensorType {
            shape.count < 2 || shape.last! % blockSize != 0 ? .f32 : self
        }
        /// Bytes of `count` values (a multiple of ``blockSize``).
        public func byteCount(_ count: Int) -> Int { count / blockSize * blockBytes }
        /// The name `gpt export --gguf-type` takes.
        public var name: String {
            switch self {
            case .f32: "f32"
            case .f16: "f16"
            case .q8_0: "q8_0"
            case .bf16: "bf16"
            }
        }
        /// `general.file_type` of a file whose matrices have this type (llama.cpp's `llama_ftype`: ALL_F32 0,
        /// MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32).
        public var fileType: UInt32 {
            switch self {
            case .f32: 0
            case .f16: 1
            case .q8_0: 7
            case .bf16: 32
            }
        }
    }

    /// One tensor: its name (at most 63 bytes, ggml's `GGML_MAX_NAME` less the NUL), its row-major shape (at most
    /// four dimensions), the type it is stored as, and its values.
    public struct TensorEntry: Sendable {
        public var name: String
        public var shape: [Int]
        public var type: TensorType
        public var values: [Float]

        public init(name: String, shape: [Int], type: TensorType, values: [Float]) {
            (self.name, self.shape, self.type, self.values) = (name, shape, type, values)
        }
    }

    /// The whole file: header, metadata, tensor table, padding, data. Throws ``GPTError/invalidConfiguration(field:reason:)``
    /// naming the tensor whose name, shape or values GGUF cannot hold (f16 overflows past 65,504).
    public static func encode(metadata: [(key: String, value: Value)], tensors: [TensorEntry]) throws -> Data {
        func fail(_ name: String, _ reason: String) -> GPTError { .invalidConfiguration(field: String(name.prefix(64)), reason: reason) }
        var out = Data()
        out.append(contentsOf: Array("GGUF".utf8))
        append(version, to: &out)
        append(UInt64(tensors.count), to: &out)
        append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            append(key, to: &out)
            append(value.typeCode, to: &out)
            switch value {
            case .uint32(let v): append(v, to: &out)
            case .int32(let v): append(v, to: &out)
            case .uint64(let v): append(v, to: &out)
            case .int64(let v): append(v, to: &out)
            case .float64(let v): append(v.bitPattern, to: &out)
            case .float32(let v): append(v.bitPattern, to: &out)
            case .bool(let v): out.append(v ? 1 : 0)
            case .string(let v): append(v, to: &out)
            case .strings(let items):
                append(Value.string("").typeCode, to: &out)
                append(UInt64(items.count), to: &out)
                for item in items { append(item, to: &out) }
            case .int32s(let items):
                append(Value.int32(0).typeCode, to: &out)
                append(UInt64(items.count), to: &out)
                for item in items { append(item, to: &out) }
            case .float32s(let items):
                append(Value.float32(0).typeCode, to: &out)
                append(UInt64(items.count), to: &out)
                for item in items { append(item.bitPattern, to: &out) }
            case .skipped:
                throw fail(key, "holds an array that was read without its values; it cannot be written back")
            }
        }
        var offset = 0
        for tensor in tensors {
            guard tensor.name.utf8.count < 64 else { throw fail(tensor.name, "is longer than GGUF's 63-byte tensor names") }
            guard (1...4).contains(tensor.shape.count), tensor.shape.allSatisfy({ $0 > 0 }),
                  tensor.shape.reduce(1, *) == tensor.values.count
            else { throw fail(tensor.name, "has shape \(tensor.shape) for \(tensor.values.count) values") }
            guard tensor.shape.last! % tensor.type.blockSize == 0 else {
                throw fail(tensor.name, "has rows of \(tensor.shape.last!) values, not a multiple of \(tensor.type.name)'s blocks of \(tensor.type.blockSize)")
            }
            append(tensor.name, to: &out)
            append(UInt32(tensor.shape.count), to: &out)
            for dimension in tensor.shape.reversed() { append(UInt64(dimension), to: &out) }
            append(tensor.type.rawValue, to: &out)
            append(UInt64(offset), to: &out)
            offset += padded(tensor.type.byteCount(tensor.values.count))
        }
        out.append(Data(count: padded(out.count) - out.count))
        for tensor in tensors {
            let start = out.count
            switch tensor.type {
            case .f32:
                for value in tensor.values { append(value.bitPattern, to: &out) }
            case .bf16:
                for value in tensor.values { append(bfloat16Bits(value), to: &out) }
            case .f16:
                for value in tensor.values {
                    let half = Float16(value)
                    guard half.isFinite || !value.isFinite else {
                        throw fail(tensor.name, "holds \(value), past f16's range (65,504); export with --gguf-type bf16 or f32")
                    }
                    append(half.bitPattern, to: &out)
                }
            case .q8_0:
                let columns = tensor.shape.last!
                let blocks = tensor.values.withUnsafeBufferPointer {
                    QuantizedMatrix($0.baseAddress!, rows: tensor.values.count / columns, columns: columns).ggmlBlocks()
                }
                out.append(contentsOf: blocks)
            }
            out.append(Data(count: padded(out.count - start) - (out.count - start)))
        }
        return out
    }

    /// Writes ``encode(metadata:tensors:)`` to `url` atomically: a reader sees the old file or the whole new one.
    public static func write(metadata: [(key: String, value: Value)], tensors: [TensorEntry], to url: URL) throws {
        try writeAtomically(try encode(metadata: metadata, tensors: tensors), to: url)
    }

    static func padded(_ count: Int) -> Int { (count + alignment - 1) / alignment * alignment }

    static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    static func append(_ string: String, to data: inout Data) {
        append(UInt64(string.utf8.count), to: &data)
        data.append(contentsOf: Array(string.utf8))
    }
}
