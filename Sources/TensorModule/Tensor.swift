/// A contiguous, row-major `Float32` tensor that records the operations applied to it for reverse-mode autodiff.
///
/// Shapes follow PyTorch: `[B, T, C]` is batch, time, channels with `C` varying fastest. A tensor created by an op
/// keeps its inputs (`parents`) and a closure that, given its own gradient, accumulates (`+=`) into theirs. Calling
/// ``backward()`` on a scalar walks that graph in reverse topological order.
///
/// ```swift
/// let w = Tensor(shape: [2, 2], values: [1, 2, 3, 4], requiresGrad: true)
/// let loss = w.relu().sum()
/// loss.backward()   // w.gradient == [1, 1, 1, 1]
/// ```
public final class Tensor {
    /// The size of each dimension, outermost first.
    public let shape: [Int]
    /// The elements, row-major.
    public let storage: TensorStorage
    /// Whether gradients flow into this tensor.
    public let requiresGrad: Bool
    /// The gradient of the last ``backward()`` with respect to this tensor, allocated on first use.
    public internal(set) var gradientStorage: TensorStorage?

    /// The tensors this one was computed from (empty for leaves).
    let parents: [Tensor]
    /// Accumulates this tensor's gradient (the argument) into the parents' gradients.
    let backwardFunction: ((TensorStorage) -> Void)?

    /// Creates a leaf tensor with the given storage.
    public init(shape: [Int], storage: TensorStorage, requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not match \(storage.count) elements")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
        self.parents = []
        self.backwardFunction = nil
    }

    /// Creates the result of an op: gradients flow to `parents` through `backward` when any parent requires them
    /// and gradient recording is on.
    init(shape: [Int], storage: TensorStorage, parents: [Tensor], backward: @escaping (TensorStorage) -> Void) {
        self.shape = shape
        self.storage = storage
        let records = GradientMode.isEnabled && parents.contains { $0.requiresGrad }
        self.requiresGrad = records
        self.parents = records ? parents : []
        self.backwardFunction = records ? backward : nil
    }

    /// Creates a leaf tensor from values in row-major order.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        self.init(shape: shape, storage: TensorStorage(values), requiresGrad: requiresGrad)
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: TensorStorage(zeros: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A tensor filled with `value`.
    public static func filled(_ shape: [Int], with value: Float, requiresGrad: Bool = false) -> Tensor {
        let tensor = zeros(shape, requiresGrad: requiresGrad)
        tensor.storage.pointer.update(repeating: value, count: tensor.count)
        return tensor
    }

    /// A tensor of samples from a normal distribution with the given mean and standard deviation.
    public static func normal(
        _ shape: [Int], mean: Float = 0, std: Float = 1, generator: inout SeededGenerator, requiresGrad: Bool = false
    ) -> Tensor {
        let tensor = zeros(shape, requiresGrad: requiresGrad)
        if !generator.skipsInitialization { generator.fillNormal(tensor.storage.buffer, mean: mean, std: std) }
        return tensor
    }

    /// A tensor of samples from the uniform distribution on `[low, high)`.
    public static func uniform(
        _ shape: [Int], low: Float, high: Float, generator: inout SeededGenerator, requiresGrad: Bool = false
    ) -> Tensor {
        let tensor = zeros(shape, requiresGrad: requiresGrad)
        let p = tensor.storage.pointer
        if !generator.skipsInitialization {
            for i in 0..<tensor.count { p[i] = low + (high - low) * generator.nextFloat() }
        }
        return tensor
    }

    // MARK: - Reading

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// The elements as an array (for tests and printing).
    public var values: [Float] { storage.array }
    /// The only element of a one-element tensor.
    public var item: Float { storage.pointer[0] }
    /// The gradient as an array, or `nil` before any ``backward()`` reached this tensor.
    public var gradient: [Float]? { gradientStorage?.array }

    /// Sets the gradient to `nil` (the optimizer's `zeroGrad`).
    public func clearGradient() { gradientStorage = nil }

    /// The gradient buffer, allocated (as zeros) on first use.
    func ensureGradient() -> TensorStorage {
        let (storage, fresh) = gradientForWriting()
        if fresh { storage.pointer.update(repeating: 0, count: count) }
        return storage
    }

    /// The gradient buffer for a backward that writes every element: the existing gradient, to add to (`fresh`
    /// false), or a new uninitialised one (`fresh` true) that the caller must overwrite entirely rather than add to.
    /// Saves zeroing (and then reading) a buffer that is about to be overwritten.
    func gradientForWriting() -> (storage: TensorStorage, fresh: Bool) {
        if backwardFunction == nil, let shard = GradientShard.current { return shard.storageForWriting(for: self) }
        if let existing = gradientStorage { return (existing, false) }
        let created = TensorStorage(uninitialized: count)
        gradientStorage = created
        return (created, true)
    }

    /// Adds `gradient`, the whole of this tensor's gradient from one consumer, to this tensor's gradient.
    ///
    /// With `adopting`, an intermediate tensor that has no gradient yet takes the buffer itself instead of a copy:
    /// the consumer's own gradient, which ``backward()`` lets go of right after the consumer's backward (a residual
    /// connection passes its gradient straight through this way).
    func receiveGradient(_ gradient: TensorStorage, adopting: Bool) {
        if adopting, backwardFunction != nil, gradientStorage == nil, gradient.count == count {
            gradientStorage = gradient
            return
        }
        let (target, fresh) = gradientForWriting()
        if fresh {
            target.pointer.update(from: gradient.pointer, count: count)
        } else {
            addInPlace(target.pointer, gradient.pointer, count: count)
        }
    }

    /// A new leaf tensor with a copy of this tensor's values and no history.
    public func detached() -> Tensor {
        let copy = TensorStorage(zeros: count)
        copy.pointer.update(from: storage.pointer, count: count)
        return Tensor(shape: shape, storage: copy)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), values: [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}
