import CKernels

/// Gradients of leaf tensors (parameters) collected apart from the tensors, for data parallelism inside a step.
///
/// Several threads can run forward and backward on different parts of a batch through the same parameters if each
/// collects into its own shard: inside ``collect(_:)``, every gradient that backward would accumulate into a leaf
/// goes into this shard's buffer for that leaf instead, and parallel kernels run on the calling thread (the
/// parallelism is the shards). Gradients of intermediate tensors belong to each thread's own graph as usual.
///
/// ```swift
/// let shards = [GradientShard(), GradientShard()]
/// parallelFor(2) { range in for s in range { shards[s].collect { loss(part: s).backward() } } }
/// // shards[s].gradient(of: weight): that part's gradient
/// ```
public final class GradientShard: @unchecked Sendable {
    // Touched only by the thread inside `collect`, then read after it returns.
    private var buffers: [ObjectIdentifier: TensorStorage] = [:]

    public init() {}

    /// Runs `body` on this thread with leaf gradients collected here and parallel kernels run inline.
    public func collect<Result>(_ body: () throws -> Result) rethrows -> Result {
        let previous = gpt_thread_context()
        gpt_set_thread_context(Unmanaged.passUnretained(self).toOpaque())
        defer { gpt_set_thread_context(previous) }
        return try withExtendedLifetime(self) { try body() }
    }

    /// The gradient collected for `tensor`, or `nil` if nothing reached it.
    public func gradient(of tensor: Tensor) -> TensorStorage? { buffers[ObjectIdentifier(tensor)] }

    /// Adds `Σ_s weights[s] * shards[s].gradient(of: leaf)` to each leaf's own gradient (creating it if any shard
    /// has one; a leaf no shard reached keeps none, as after a plain backward), in shard order, in one pass over
    /// each element; the leaves are cut into pieces shared by the cores.
    public static func accumulate(_ shards: [GradientShard], weights: [Float], into leaves: [Tensor]) {
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
        parallelForPieces(counts: counts, pieceSize: 16_384) { _, item, range in
            let (total, fresh, parts) = targets[item]
            for (index, (weight, source)) in parts.enumerated() {
                if index == 0 && fresh {
                    for j in range { total[j] = weight * source[j] }
                } else {
                    for j in range { total[j] += weight * source[j] }
                }
            }
        }
        withExtendedLifetime((shards, leaves)) {}
    }

    /// The buffer that stands for `leaf`'s gradient in this shard: the one collected so far, or a new one left
    /// uninitialised (`fresh`), as ``Tensor``'s own `gradientForWriting()` gives.
    func storageForWriting(for leaf: Tensor) -> (storage: TensorStorage, fresh: Bool) {
        if let existing = buffers[ObjectIdentifier(leaf)] { return (existing, false) }
        let created = TensorStorage(uninitialized: leaf.count)
        buffers[ObjectIdentifier(leaf)] = created
        return (created, true)
    }

    /// The shard collecting on this thread, if any.
    static var current: GradientShard? {
        gpt_thread_context().map { Unmanaged<GradientShard>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Whether this thread is collecting a shard (its kernels then run inline).
    static var isCollecting: Bool { gpt_thread_context() != nil }
}
