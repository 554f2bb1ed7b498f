import CKernels
import Foundation

/// The bfloat16 copies of a model's weight matrices for one training step, made once and read by every product
/// that multiplies by them (the forward's `x Wᵀ`, the backward's `dY W`, each micro-batch and data-parallel part).
///
/// A product finds its `B` here by address when that address is one of the ``init(weights:)`` matrices, packed
/// lazily in the layout its transposition needs (``packed(_:transposed:k:n:ldb:threads:)``); every other operand
/// (activations, whose buffers are reused) is packed per product. After the weights change (an optimizer step),
/// ``invalidate()`` marks every copy stale: each is packed again, into the same memory, when next read.
public final class PackedWeights: @unchecked Sendable, Equatable {
    private struct Key: Hashable {
        let address: UnsafeRawPointer, transposed: Bool, k: Int, n: Int, ldb: Int
    }

    private let weights: Set<UnsafeRawPointer>
    private var packs: [Key: (pointer: UnsafeMutablePointer<UInt16>, current: Bool)] = [:]
    private var packings = 0
    private let lock = NSLock()

    /// How many packings this has made (each weight once per layout it was read in, again after each
    /// ``invalidate()``).
    public var packCount: Int { lock.withLock { packings } }

    /// `weights`: the first elements of the matrices whose copies this keeps.
    public init(weights: [UnsafePointer<Float>]) { self.weights = Set(weights.map { UnsafeRawPointer($0) }) }

    deinit { for entry in packs.values { entry.pointer.deallocate() } }

    /// Marks every copy stale (the weights have changed); the memory is kept for the next packing.
    public func invalidate() { lock.withLock { for key in packs.keys { packs[key]!.current = false } } }

    /// Whether `b` is one of the weights (its products then round nothing of it).
    func holds(_ b: UnsafePointer<Float>) -> Bool { weights.contains(UnsafeRawPointer(b)) }

    /// `op(B)` `[k, n]` packed by `gpt_bf16_pack_b` (on `threads` threads), when `b` is one of the weights, else nil.
    /// Two threads asking at once for the same weight get one packing (the second waits for it).
    func packed(_ b: UnsafePointer<Float>, transposed: Bool, k: Int, n: Int, ldb: Int, threads: Int)
        -> UnsafePointer<UInt16>?
    {
        guard weights.contains(UnsafeRawPointer(b)) else { return nil }
        let key = Key(address: UnsafeRawPointer(b), transposed: transposed, k: k, n: n, ldb: ldb)
        return lock.withLock {
            if let entry = packs[key], entry.current { return UnsafePointer(entry.pointer) }
            let pointer = packs[key]?.pointer ?? .allocate(capacity: gpt_bf16_packed_b_count(k, n))
            packBFloat16Panels(pointer, transposed: transposed, k: k, n: n, b: b, ldb: ldb, threads: threads)
            packs[key] = (pointer, true)
            packings += 1
            return UnsafePointer(pointer)
        }
    }

    public static func == (lhs: PackedWeights, rhs: PackedWeights) -> Bool { lhs === rhs }
}

/// Memory for an operand packed per product (or per attention head): from ``BufferCache/shared`` as tensors take
/// theirs (a weight gradient's `x` at the lecture's size packs to 12 MB, reused step after step), or allocated where
/// the settings turn the cache off.
struct PackingBuffer {
    let pointer: UnsafeMutablePointer<UInt16>
    private let byteCount: Int, cached: Bool

    /// `count` elements, not set.
    init(count: Int) {
        byteCount = 2 * max(1, count)
        cached = KernelSettings.current.usesBufferCache
        let raw = cached ? BufferCache.shared.allocate(byteCount: byteCount)
            : UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        pointer = raw.bindMemory(to: UInt16.self, capacity: max(1, count))
    }

    /// Gives the memory back.
    func release() {
        if cached {
            BufferCache.shared.release(UnsafeMutableRawPointer(pointer), byteCount: byteCount)
        } else {
            pointer.deallocate()
        }
    }
}
