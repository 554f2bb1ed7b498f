import CKernels
import Foundation

/// The bfloat16 (or 8-bit) copies of a model's weight matrices, keyed by the weight: the one place every product under
/// ``MatrixPrecision/bfloat16`` finds its rounded weight (and under ``MatrixPrecision/q8`` its ``QuantizedMatrix``,
/// ``quantized(_:)``), in training (the forward's `x Wᵀ`, the backward's `dY W`,
/// each micro-batch and data-parallel part) and in decoding alike. Set for a scope with
/// ``KernelSettings/with(precision:weights:_:)``.
///
/// A product finds its `B` here by address when that address is one of the ``init(_:)`` matrices. Each copy is
/// made lazily in the layout its kernel reads: packed panels per transposition for matrix-matrix products
/// (``packed(_:transposed:k:n:ldb:threads:)``), row-major rows for the matrix-vector products of one-token
/// decoding (``rowMajor(_:)``, every matrix at once, back to back in the order given, so decoding streams one
/// region). After the weights change (an optimizer step), ``invalidate()`` marks every copy stale: each is rounded
/// again, into the same memory, when next read. Every other operand (activations, whose buffers are reused) is
/// rounded per product.
public final class RoundedWeights: @unchecked Sendable, Equatable {
    private struct Key: Hashable {
        let address: UnsafeRawPointer, transposed: Bool, k: Int, n: Int, ldb: Int
    }

    /// The matrices, in the order given: first element, rows, columns (row-major).
    private let matrices: [(pointer: UnsafePointer<Float>, rows: Int, columns: Int)]
    private let weights: Set<UnsafeRawPointer>
    private var packs: [Key: (pointer: UnsafeMutablePointer<UInt16>, current: Bool)] = [:]
    private var rows: (copies: [UnsafeRawPointer: BFloat16Matrix], current: Bool) = ([:], false)
    private var quantizedRows: (copies: [UnsafeRawPointer: QuantizedMatrix], current: Bool) = ([:], false)
    private var packings = 0
    private let lock = NSLock()

    /// How many packings this has made (each weight once per layout it was read in, again after each
    /// ``invalidate()``).
    public var packCount: Int { lock.withLock { packings } }

    /// `matrices`: row-major `[rows, columns]` fp32 weights, in the order a forward pass reads them.
    public init(matrices: [(UnsafePointer<Float>, rows: Int, columns: Int)]) {
        self.matrices = matrices.map { (pointer: $0.0, rows: $0.rows, columns: $0.columns) }
        weights = Set(matrices.map { UnsafeRawPointer($0.0) })
    }

    /// The rank-2 tensors of `tensors` (a model's weight matrices), in the order given.
    public convenience init(_ tensors: [Tensor]) {
        self.init(matrices: tensors.filter { $0.rank == 2 }.map {
            (UnsafePointer($0.storage.pointer), rows: $0.shape[0], columns: $0.shape[1])
        })
    }

    deinit { for entry in packs.values { entry.pointer.deallocate() } }

    /// Marks every copy stale (the weights have changed); the memory is kept for the next rounding.
    public func invalidate() {
        lock.withLock {
            for key in packs.keys { packs[key]!.current = false }
            rows.current = false
            quantizedRows.current = false
        }
    }

    /// Whether `b` is one of the weights (its products then round nothing of it).
    func holds(_ b: UnsafePointer<Float>) -> Bool { weights.contains(UnsafeRawPointer(b)) }

    /// `op(B)` `[k, n]` packed by `gpt_bf16_pack_b` (on `threads` threads), when `b` is one of the weights, else nil.
    /// Two threads asking at once for the same weight get one packing (the second waits for it).
    func packed(_ b: UnsafePointer<Float>, transposed: Bool, k: Int, n: Int, ldb: Int, threads: Int)
        -> UnsafePointer<UInt16>?
    {
        guard holds(b) else { return nil }
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

    /// The row-major bfloat16 copy of weight `b` (`[rows, columns]` as given), when `b` is one of the weights.
    func rowMajor(_ b: UnsafePointer<Float>) -> BFloat16Matrix? {
        lock.withLock {
            if !rows.current {
                guard holds(b) else { return nil }
                if rows.copies.isEmpty {
                    let copies = BFloat16Matrix.contiguous(matrices.map { ($0.pointer, $0.rows, $0.columns) })
                    let keys = matrices.map { UnsafeRawPointer($0.pointer) }
                    rows.copies = Dictionary(zip(keys, copies), uniquingKeysWith: { first, _ in first })
                } else {
                    for matrix in matrices { rows.copies[UnsafeRawPointer(matrix.pointer)]!.round(matrix.pointer) }
                }
                rows.current = true
            }
            return rows.copies[UnsafeRawPointer(b)]
        }
    }

    /// The Q8_0 copy of weight `b` (`[rows, columns]` as given), when `b` is one of the weights: every matrix is
    /// quantised on the first call, back to back in the order given.
    func quantized(_ b: UnsafePointer<Float>) -> QuantizedMatrix? {
        lock.withLock {
            if !quantizedRows.current {
                guard holds(b) else { return nil }
                if quantizedRows.copies.isEmpty {
                    let copies = QuantizedMatrix.contiguous(matrices.map { ($0.pointer, $0.rows, $0.columns) })
                    let keys = matrices.map { UnsafeRawPointer($0.pointer) }
                    quantizedRows.copies = Dictionary(zip(keys, copies), uniquingKeysWith: { first, _ in first })
                } else {
                    for matrix in matrices { quantizedRows.copies[UnsafeRawPointer(matrix.pointer)]!.quantize(matrix.pointer) }
                }
                quantizedRows.current = true
            }
            return quantizedRows.copies[UnsafeRawPointer(b)]
        }
    }

    /// Bytes of the 8-bit copies made so far (0 before the first product under ``MatrixPrecision/q8``).
    public var quantizedByteCount: Int { lock.withLock { quantizedRows.copies.values.reduce(0) { $0 + $1.byteCount } } }

    public static func == (lhs: RoundedWeights, rhs: RoundedWeights) -> Bool { lhs === rhs }
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
