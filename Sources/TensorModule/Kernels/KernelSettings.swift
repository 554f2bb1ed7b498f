import CKernels
import Foundation

/// The kernels' runtime knobs as one value: how many cores they split work across, the widest vector instructions
/// they may use, whether products may go to the BLAS, the size below which products stay on the C kernel, whether
/// parallel loops run on the worker pool, and whether tensors reuse buffers from ``BufferCache/shared``.
///
/// ``process`` is read once from the machine and the environment (`GPT_THREADS`, `GPT_SIMD`, `GPT_BLAS`, `GPT_GEMM`,
/// `GPT_POOL`, `GPT_BUFFER_CACHE_MB`, `GPT_BF16_KERNEL`, `GPT_BF16_MIN_PRODUCT`, `GPT_BF16_MIN_INTENSITY`);
/// ``current`` is that, or what a caller set for a scope with ``with(_:_:)`` (a task-local value, carried into the
/// worker threads of every parallel loop), so a test can run one block on one thread with the portable Swift
/// kernels without touching the rest of the process:
///
/// ```swift
/// var settings = KernelSettings.current
/// (settings.threads, settings.instructions) = (1, .portable)
/// KernelSettings.with(settings) { model.forward(tokens) }
/// ```
///
/// The precision of matrix products is one of these settings too: training, evaluation and decoding in bf16 each
/// run their passes inside ``with(precision:weights:_:)``.
public struct KernelSettings: Sendable, Equatable {
    /// Cores the kernels split work across (at least 1).
    public var threads: Int
    /// The widest vector instructions the kernels use (capped at what the machine has).
    public var instructions: VectorInstructions
    /// Whether products may go to the BLAS the process loaded (if any).
    public var usesBLAS: Bool
    /// Products of at most this many multiply-adds run on the C kernel even where a BLAS is loaded (`GPT_GEMM=blas`:
    /// 0, every product on the BLAS; `GPT_GEMM=c`, the default: 2^27).
    public var cKernelProductLimit: Int
    /// Whether parallel loops run on the spinning worker pool (else on Dispatch).
    public var usesWorkerPool: Bool
    /// Whether new tensors take idle buffers from ``BufferCache/shared`` (and give theirs back), else allocate fresh.
    public var usesBufferCache: Bool
    /// The precision of matrix products' inputs (under ``MatrixPrecision/bfloat16``, matrix-matrix products round
    /// only where ``bfloat16Kernel`` is set; matrix-vector products read ``roundedWeights``).
    public var precision = MatrixPrecision.float32
    /// The kernel of bfloat16 products: ``BFloat16Kernel/machine``, or `GPT_BF16_KERNEL` (a kernel's name, or
    /// `none`); nil keeps every product fp32.
    public var bfloat16Kernel: BFloat16Kernel?
    /// Products of fewer multiply-adds than this stay fp32 under ``MatrixPrecision/bfloat16`` (rounding both operands
    /// costs more than it saves there); `GPT_BF16_MIN_PRODUCT` sets it.
    public var bfloat16ProductLimit = 1 << 15
    /// Products with fewer multiply-adds per operand element rounded than this stay fp32 under
    /// ``MatrixPrecision/bfloat16``: `m n k / (m k + k n)`, a transposed operand's elements counted twice (its
    /// packing reads across rows) and a weight already rounded for the step (``roundedWeights``) not at all. At 32, a
    /// linear layer's forward and input gradient (`n` per element) qualify from 32 outputs, a weight gradient
    /// (`m n / (2m + n)`) from about 100 x 100 on (not `tiny`'s); fused attention applies the same limits to a
    /// head's `Q Kᵀ` blocks, whose keys and values it rounds once per head (`RoundedHeadOperand`);
    /// `GPT_BF16_MIN_INTENSITY` sets it.
    public var bfloat16MinimumIntensity = 32
    /// The weights' bfloat16 copies for the passes running now (a training step, a generation), if any.
    public var roundedWeights: RoundedWeights?

    public init(threads: Int, instructions: VectorInstructions, usesBLAS: Bool, cKernelProductLimit: Int,
                usesWorkerPool: Bool, usesBufferCache: Bool = true,
                bfloat16Kernel: BFloat16Kernel? = BFloat16Kernel.machine) {
        self.threads = max(1, threads)
        self.instructions = min(instructions, VectorInstructions.machine)
        (self.usesBLAS, self.cKernelProductLimit) = (usesBLAS, max(0, cKernelProductLimit))
        self.usesWorkerPool = usesWorkerPool
        self.usesBufferCache = usesBufferCache
        self.bfloat16Kernel = bfloat16Kernel.flatMap { $0.isAvailable ? $0 : nil }
    }

    /// The bfloat16 kernel an `m x n x k` product by `b` runs on under these settings, or nil for fp32.
    public func bfloat16Kernel(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, b: UnsafePointer<Float>)
        -> BFloat16Kernel?
    {
        let roundedB = roundedWeights?.holds(b) == true ? 0 : k * n * (transposeB ? 2 : 1)
        return bfloat16Kernel(multiplyAdds: m * n * k, roundedElements: m * k * (transposeA ? 2 : 1) + roundedB)
    }

    /// The bfloat16 kernel of matrix-matrix products of `multiplyAdds` in all that round `roundedElements` operand
    /// elements to get them (a product, or all of an attention head's), or nil for fp32: the one policy of
    /// ``bfloat16ProductLimit`` and ``bfloat16MinimumIntensity``.
    public func bfloat16Kernel(multiplyAdds: Int, roundedElements: Int) -> BFloat16Kernel? {
        guard precision == .bfloat16, let kernel = bfloat16Kernel, multiplyAdds >= bfloat16ProductLimit,
              multiplyAdds >= bfloat16MinimumIntensity * roundedElements else { return nil }
        return kernel
    }

    /// The settings of this process, from the machine and the environment.
    public static let process: KernelSettings = {
        let environment = ProcessInfo.processInfo.environment
        var threads = max(1, _sysconfProcessors())
        if let text = environment["GPT_THREADS"], let value = Int(text), value > 0 { threads = value }
        let bfloat16 = environment["GPT_BF16_KERNEL"].map(BFloat16Kernel.init(name:)) ?? BFloat16Kernel.machine
        var settings = KernelSettings(
            threads: threads, instructions: VectorInstructions.machine, usesBLAS: true,
            cKernelProductLimit: environment["GPT_GEMM"] == "blas" ? 0 : 1 << 27,
            usesWorkerPool: environment["GPT_POOL"] != "0", usesBufferCache: BufferCache.shared.limitBytes > 0,
            bfloat16Kernel: bfloat16)
        if let text = environment["GPT_BF16_MIN_PRODUCT"], let value = Int(text), value >= 0 {
            settings.bfloat16ProductLimit = value
        }
        if let text = environment["GPT_BF16_MIN_INTENSITY"], let value = Int(text), value >= 0 {
            settings.bfloat16MinimumIntensity = value
        }
        return settings
    }()

    @TaskLocal static var scoped: KernelSettings?

    /// The settings in force here: the innermost ``with(_:_:)`` around this code, else ``process``.
    public static var current: KernelSettings { scoped ?? process }

    /// Runs `body` with `settings` in force, on this thread and in the worker threads of every parallel loop it
    /// starts; the rest of the process keeps its own.
    public static func with<Result>(_ settings: KernelSettings, _ body: () throws -> Result) rethrows -> Result {
        try $scoped.withValue(settings, operation: body)
    }

    /// Runs `body` with its matrix products in `precision`, reading the rounded copies of `weights` where a product
    /// multiplies by one of them (the other settings as they are).
    ///
    /// ```swift
    /// let weights = RoundedWeights(model.parameters)
    /// let logits = KernelSettings.with(precision: .bfloat16, weights: weights) { model.decode(token, cache: cache) }
    /// ```
    public static func with<Result>(precision: MatrixPrecision, weights: RoundedWeights?,
                                    _ body: () throws -> Result) rethrows -> Result {
        var settings = current
        guard settings.precision != precision || settings.roundedWeights != weights else { return try body() }
        (settings.precision, settings.roundedWeights) = (precision, weights)
        return try with(settings, body)
    }

    /// `body` wrapped to run with the caller's scoped settings on another thread (itself when there are none).
    static func carried<Argument>(_ body: @escaping (Argument) -> Void) -> (Argument) -> Void {
        guard let settings = scoped else { return body }
        return { argument in $scoped.withValue(settings) { body(argument) } }
    }
}
