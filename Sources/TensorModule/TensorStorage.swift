/// A fixed-size, heap-allocated buffer of `Float` that a ``Tensor`` reads and writes through raw pointers.
///
/// Hot loops must never go through Swift `Array` subscripts (copy-on-write checks cost 15-20x), so every kernel
/// receives `storage.pointer` and a count. The buffer is 64-byte aligned for SIMD loads; on `deinit` a large one
/// goes back to ``BufferCache`` for the next tensor of the same size.
public final class TensorStorage: @unchecked Sendable {
    /// The first element; valid for `count` elements.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of `Float` elements.
    public let count: Int

    /// Allocates `count` elements, set to zero.
    public convenience init(zeros count: Int) {
        self.init(uninitialized: count)
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Allocates `count` elements without setting them, for op outputs that every element is written to.
    public init(uninitialized count: Int) {
        self.count = count
        cached = KernelSettings.current.usesBufferCache
        let raw = cached ? BufferCache.shared.allocate(byteCount: max(count, 1) * 4)
            : UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Whether the buffer came from (and goes back to) ``BufferCache/shared``.
    private let cached: Bool

    /// Allocates a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(zeros: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit {
        if cached {
            BufferCache.shared.release(UnsafeMutableRawPointer(pointer), byteCount: max(count, 1) * 4)
        } else {
            pointer.deallocate()
        }
    }

    /// The elements as a buffer pointer.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// A copy of the elements as an array (for tests and serialisation, not hot loops).
    public var array: [Float] { Array(buffer) }
}

/// A pointer that may cross into the worker threads of ``parallelFor(_:minimumChunk:_:)``.
///
/// Each worker writes a disjoint range, which is what makes sharing the pointer safe.
public struct SendablePointer<Element>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Element>
    public init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
}
