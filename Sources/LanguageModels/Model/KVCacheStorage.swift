import TensorModule

/// How a ``KVCache`` holds keys and values (`--kv-cache`).
///
/// Decoding reads every cached key and value of a sequence once per token, so with many sequences or long contexts
/// attention's bytes rival the weights'. Half precision halves them; the logits then move by the keys' and values'
/// rounding (about 3 significant digits), as llama.cpp's f16 cache (its default) does.
public enum KVCachePrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// fp32: exact.
    case float32 = "fp32"
    /// IEEE half precision (``HalfPrecision``): 2 bytes per value.
    case float16 = "fp16"

    /// `fp32`/`f32`/`float32` or `fp16`/`f16`/`float16`.
    public init?(name: String) {
        switch name.lowercased() {
        case "fp32", "f32", "float32": self = .float32
        case "fp16", "f16", "float16": self = .float16
        default: return nil
        }
    }

    /// Bytes per stored key or value element.
    public var bytesPerValue: Int { self == .float32 ? 4 : 2 }

    public var description: String { rawValue }
}

/// One layer's keys or values, `[positions, width]` elements of a ``KVCachePrecision``, zeroed when made.
final class KVRows {
    let precision: KVCachePrecision
    /// Elements held.
    let count: Int
    private let raw: UnsafeMutableRawPointer

    init(count: Int, precision: KVCachePrecision) {
        (self.count, self.precision) = (count, precision)
        raw = .allocate(byteCount: max(1, count * precision.bytesPerValue), alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count * precision.bytesPerValue))
    }

    deinit { raw.deallocate() }

    /// The elements as fp32 (``KVCachePrecision/float32`` only).
    var floats: UnsafeMutablePointer<Float> {
        precondition(precision == .float32)
        return raw.assumingMemoryBound(to: Float.self)
    }

    /// The elements as half-precision bit patterns (``KVCachePrecision/float16`` only).
    var halves: UnsafeMutablePointer<UInt16> {
        precondition(precision == .float16)
        return raw.assumingMemoryBound(to: UInt16.self)
    }

    /// Rounds `values` (`count` floats) into elements `offset..<offset+count`.
    func store(_ values: UnsafePointer<Float>, at offset: Int, count: Int) {
        switch precision {
        case .float32: (floats + offset).update(from: values, count: count)
        case .float16: HalfPrecision.round(values, into: halves + offset, count: count)
        }
    }

    /// Copies the first `elements` of `source` (the same precision) over this one's.
    func update(from source: KVRows, elements: Int) {
        precondition(source.precision == precision && elements <= min(count, source.count))
        raw.copyMemory(from: source.raw, byteCount: elements * precision.bytesPerValue)
    }

    /// A new storage of the first `elements`.
    func prefix(_ elements: Int) -> KVRows {
        let copy = KVRows(count: elements, precision: precision)
        copy.update(from: self, elements: elements)
        return copy
    }
}
