import Foundation
import TensorModule

/// The safetensors format: an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON describing each
/// tensor (`dtype`, `shape`, `data_offsets` into the data buffer) plus an optional `__metadata__` string map, then
/// the data buffer. Tensors must tile the buffer exactly: no gaps, no overlaps, nothing past the end.
///
/// F32, F16 and BF16 are read (converted to `Float`); F32 is written. Every rule broken is a
/// ``GPTError/invalidSafetensors(field:reason:)`` naming the tensor or field; no input traps.
public enum SafeTensors {
    /// The largest header accepted (the reference implementation's cap).
    public static let maximumHeaderSize = 100_000_000

    public struct File: Sendable {
        public var tensors: [String: (shape: [Int], values: [Float])]
        public var metadata: [String: String]
    }

    // MARK: - Writing

    /// The bytes of a safetensors file holding `tensors` as F32, in name order, with `metadata`.
    public static func encode(_ tensors: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)],
                              metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let sorted = tensors.sorted { $0.name < $1.name }
        for tensor in sorted {
            let bytes = tensor.values.count * 4
            header[tensor.name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for tensor in sorted {
            #if _endian(little)
            data.append(UnsafeBufferPointer(start: tensor.values.baseAddress, count: tensor.values.count))
            #else
            for value in tensor.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            #endif
        }
        return data
    }

    /// Writes named tensors as an F32 safetensors file, atomically.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to url: URL) throws {
        let data = try withExtendedLifetime(tensors) {
            try encode(tensors.map { (name: $0.name, shape: $0.tensor.shape,
                                      values: UnsafeBufferPointer($0.tensor.storage.buffer)) }, metadata: metadata)
        }
        try writeAtomically(data, to: url)
    }

    // MARK: - Reading

    /// Reads and validates a safetensors file.
    public static func read(_ url: URL) throws -> File {
        guard FileManager.default.fileExists(atPath: url.path) else { throw GPTError.fileNotFound(path: url.path) }
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw GPTError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data)
    }

    /// Parses and validates the bytes of a safetensors file.
    public static func decode(_ data: Data) throws -> File {
        func fail(_ field: String, _ reason: String) -> GPTError { .invalidSafetensors(field: field, reason: reason) }
        guard data.count >= 8 else { throw fail("header length", "the file has \(data.count) bytes, fewer than 8") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(maximumHeaderSize) else {
            throw fail("header length", "\(headerLength) bytes is over the \(maximumHeaderSize)-byte cap")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("header length", "\(headerLength) bytes, but only \(data.count - 8) follow (truncated file?)")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = data.subdata(in: 8..<headerEnd)
        guard String(data: headerBytes, encoding: .utf8) != nil else { throw fail("header", "is not valid UTF-8") }
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes, options: []),
              let header = object as? [String: Any]
        else { throw fail("header", "is not a JSON object") }

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let map = raw as? [String: String] else { throw fail("__metadata__", "must map strings to strings") }
            metadata = map
        }
        let bufferSize = data.count - headerEnd
        var entries: [(name: String, dtype: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any] else { throw fail(name, "entry is not an object") }
            guard let dtype = info["dtype"] as? String else { throw fail(name, "dtype is missing") }
            guard let width = ["F32": 4, "F16": 2, "BF16": 2][dtype] else {
                throw fail(name, "dtype \(dtype) is not supported (F32, F16, BF16)")
            }
            guard let shape = integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail(name, "shape must be a list of non-negative integers")
            }
            guard let offsets = integers(info["data_offsets"]), offsets.count == 2 else {
                throw fail(name, "data_offsets must be two integers")
            }
            var elements = 1
            for size in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: size)
                guard !overflow, product <= bufferSize else { throw fail(name, "shape \(shape) is larger than the file") }
                elements = product
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= bufferSize else {
                throw fail(name, "data_offsets \(offsets) fall outside the \(bufferSize)-byte data buffer")
            }
            guard offsets[1] - offsets[0] == elements * width else {
                throw fail(name, "data_offsets span \(offsets[1] - offsets[0]) bytes, but \(dtype) \(shape) needs \(elements * width)")
            }
            entries.append((name, dtype, shape, offsets[0], offsets[1]))
        }
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for entry in entries {
            guard entry.begin == expected else {
                throw fail(entry.name, entry.begin < expected ? "overlaps the previous tensor" : "leaves a gap before it")
            }
            expected = entry.end
        }
        guard expected == bufferSize else {
            throw fail("data buffer", "\(bufferSize - expected) bytes past the last tensor")
        }
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + headerEnd
            for entry in entries {
                tensors[entry.name] = (entry.shape, convert(base + entry.begin, bytes: entry.end - entry.begin, dtype: entry.dtype))
            }
        }
        return File(tensors: tensors, metadata: metadata)
    }

    /// Integers from a JSON array, rejecting fractions, huge values and non-numbers.
    static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Int] = []
        for element in array {
            guard let number = element as? NSNumber, let exact = Int(exactly: number.doubleValue) else { return nil }
            result.append(exact)
        }
        return result
    }

    /// The values of one tensor's bytes as `Float`s, written straight into the array's memory (a 135M-parameter
    /// model converts in well under a second): F32 copied, BF16 widened by a shift, F16 converted.
    static func convert(_ pointer: UnsafeRawPointer, bytes: Int, dtype: String) -> [Float] {
        let count = dtype == "F32" ? bytes / 4 : bytes / 2
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            let out = buffer.baseAddress!
            switch dtype {
            case "F32":
                #if _endian(little)
                UnsafeMutableRawPointer(out).copyMemory(from: pointer, byteCount: count * 4)
                #else
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
                #endif
            case "BF16":
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) << 16)
                }
            default:
                for i in 0..<count {
                    out[i] = Float(Float16(bitPattern: UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))))
                }
            }
            initialized = count
        }
    }
}

/// Writes `data` to a temporary file beside `url`, then renames it over `url`, so a reader never sees a
/// half-written file, even if the process is killed mid-write.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
    do {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try data.write(to: temporary)
        if rename(temporary.path, url.path) != 0 {
            throw GPTError.unwritableFile(path: url.path, reason: "could not rename the temporary file into place")
        }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        if let known = error as? GPTError { throw known }
        throw GPTError.unwritableFile(path: url.path, reason: error.localizedDescription)
    }
}
