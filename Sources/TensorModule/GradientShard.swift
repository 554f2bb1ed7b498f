import CKernels

/// Gradients of leaf tensors (parameters) collected apart from the tensors, for data parallelism inside a step.
///
/// Several threads can run forward and backward on different parts of a batch through the same parameters if each
/// collects into its own shard: inside ``collect(_:)``, every gradient that backward would accumulate into a leaf
/// goes into this shard's buffer for that leaf instead. Gradients of intermediate tensors belong to each thread's
/// own graph as usual. The kernels know nothing of shards: a caller that makes the shards its parallelism runs each
/// under ``KernelSettings`` of one thread.
///
/// ```swift
/// let shards = [GradientShard(), GradientShard()]
/// var serial = KernelSettings.current
/// serial.threads = 1
/// parallelFor(2) { range in
///     for s in range { KernelSettings.with(serial) { shards[s].collect { loss(part: s).backward() } } }
/// }
/// // shards[s].gradient(of: weight): that part's gradient
/// ```
public final class GradientShard: @unchecked Sendable {
    // Touched only by the thread inside `collect`, then read after it returns. A buffer belongs to the current
    // round when its generation is `generation`; older ones are kept for reuse by ``reset()``'s next round.
    private var buffers: [ObjectIdentifier: (storage: TensorStorage, generation: Int)] = [:]
    private var generation = 0

    public init() {}

    /// Starts a new round: the gradients collected so far are forgotten, their buffers kept and handed out again
    /// (uninitialised, as new ones) to the same leaves. A shard kept across training steps and collected on the
    /// same thread each time writes buffers that are already in that core's cache.
    public func reset() { generation += 1 }

    /// Runs `body` on this thread with leaf gradients collected here.
    public func collect<Result>(_ body: () throws -> Result) rethrows -> Result {
        let previous = gpt_thread_context()
        gpt_set_thread_context(Unmanaged.passUnretained(self).toOpaque())
        defer { gpt_set_thread_context(previous) }
        return try withExtendedLifetime(self) { try body() }
    }

    /// The gradient collected for `tensor` in this round, or `nil` if nothing reached it.
    public func gradient(of tensor: Tensor) -> TensorStorage? {
        guard let entry = buffers[ObjectIdentifier(tensor)], entry.generation == generation else { return nil }
        return entry.storage
    }

    /// Adds `Σ_s weights[s] * shards[s].gradient(of: leaf)` to each leaf's own gradient (creating it if any shard
    /// has one; a leaf no shard reached keeps none, as after a plain backward), in shard order, in one pass over
    /// each element; the leaves are cut into pieces shared by the cores. Returns the L2 norm of all the leaves'
    /// gradients afterwards (those reached), summed per piece in Double and the pieces in order (the same for any
    /// thread count), so that clipping needs no pass of its own.
    @discardableResult
    public static func accumulate(_ shards: [GradientShard], weights: [Float], into leaves: [Tensor]) -> Float {
        precondition(shards.count == weights.count, "one weight per shard")
        var targets: [(total: UnsafeMutablePointer<Float>, fresh: Bool, parts: [(Float, UnsafePointer<Float>)])] = []
        var counts: [Int] = []
        for leaf in leaves {
            let parts = shards.indices.compactMap { i in
                shards[i].gradient(of: leaf).map { (weights[i], UnsafePointer($0.pointer)) }
            }
            guard !parts.isEmpty else { continue }
            let (total, fresh) = leaf.gradientForWriting()
            targets.append((total.pointer, fresh, parts))
            counts.append(leaf.count)
        }
        let pieceSize = 16_384
        let squares = UnsafeMutableBufferPointer<Double>.allocate(capacity: pieceCount(counts, pieceSize: pieceSize))
        defer { squares.deallocate() }
        parallelForPieces(counts: counts, pieceSize: pieceSize) { piece, item, range in
            let (total, fresh, parts) = targets[item]
            for (index, (weight, source)) in parts.enumerated() {
                let start = total + range.lowerBound
                addScaled(into: start, index == 0 && fresh ? nil : start, source + range.lowerBound, weight: weight,
                          count: range.count)
            }
            let start = total + range.lowerBound
            squares[piece] = Double(dotProduct(start, start, count: range.count))
        }
        withExtendedLifetime((shards, leaves)) {}
        return Float(squares.reduce(0, +).squareRoot())
    }

    /// The buffer that stands for `leaf`'s gradient in this shard: the one collected so far in this round, or one
    /// left uninitialised (`fresh`), as ``Tensor``'s own `gradientForWriting()` gives.
    func storageForWriting(for leaf: Tensor) -> (storage: TensorStorage, fresh: Bool) {
        let key = ObjectIdentifier(leaf)
        if let existing = buffers[key], existing.storage.count == leaf.count {
            if existing.generation == generation { return (existing.storage, false) }
            buffers[key] = (existing.storage, generation)
            return (existing.storage, true)
        }
        let created = TensorStorage(uninitialized: leaf.count)
        buffers[key] = (created, generation)
        return (created, true)
    }

    /// The shard collecting on this thread, if any.
    static var current: GradientShard? {
        gpt_thread_context().map { Unmanaged<GradientShard>.fromOpaque($0).takeUnretainedValue() }
    }
}
