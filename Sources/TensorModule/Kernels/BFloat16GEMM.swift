import CKernels

/// A kernel that multiplies bfloat16 operands with fp32 accumulation (C's `gpt_bf16_gemm`). All of them read the
/// same packed layouts (A in row blocks, B in "VNNI" panels of 16 columns, pairs of depth side by side).
public enum BFloat16Kernel: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// AVX2: the operands widened to fp32 in registers and multiplied with FMA, in the order the Intel manual gives
    /// for `vdpbf16ps`, so its sums are that instruction's bit for bit (but for denormals). No faster than fp32:
    /// bf16 numerics on any AVX2 CPU.
    case avx2 = 1
    /// AVX512-BF16's `vdpbf16ps` (Zen 4, Xeon from Cooper Lake on): two products per fp32 lane.
    case avx512BF16 = 2
    /// AMX's `tdpbf16ps` on 16 x 32 tiles (Xeon from Sapphire Rapids on).
    case amx = 3
    /// The `avx512BF16` kernel's source with each instruction written out in C: its tests on any machine.
    case emulatedAVX512BF16 = 4
    /// The `amx` kernel's source with tile configuration, loads, products and stores written out in C.
    case emulatedAMX = 5

    /// Whether this CPU (and operating system) runs the kernel.
    public var isAvailable: Bool { gpt_bf16_kernel_available(rawValue) != 0 }

    /// The fastest bfloat16 kernel of this machine: AMX, else AVX512-BF16, else none (products then stay fp32).
    public static let machine: BFloat16Kernel? = [.amx, .avx512BF16].first { $0.isAvailable }

    /// The names `GPT_BF16_KERNEL` takes.
    public var name: String {
        switch self {
        case .avx2: "avx2"
        case .avx512BF16: "avx512bf16"
        case .amx: "amx"
        case .emulatedAVX512BF16: "emulated-avx512bf16"
        case .emulatedAMX: "emulated-amx"
        }
    }

    public init?(name: String) {
        guard let kernel = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = kernel
    }

    public var description: String {
        switch self {
        case .avx2: "AVX2 (bf16 operands widened, FMA)"
        case .avx512BF16: "AVX512-BF16 (vdpbf16ps)"
        case .amx: "AMX (tdpbf16ps tiles)"
        case .emulatedAVX512BF16: "AVX512-BF16 written out in C"
        case .emulatedAMX: "AMX written out in C"
        }
    }
}

/// `C = alpha op(A) op(B) + beta C (+ bias)` (then `max(0, C)` when `relu`) with `op(A)` and `op(B)` rounded to
/// bfloat16 and the products summed in fp32, on `kernel`, split across `threads` threads; arguments as in
/// ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:bias:relu:)``.
///
/// `B` comes from ``KernelSettings/roundedWeights`` when it is one of the weights there, else it is packed for this
/// product (in parallel). Returns `false`, having done nothing, when `kernel` does not run here.
@discardableResult
public func bfloat16GEMM(
    kernel: BFloat16Kernel, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, relu: Bool = false,
    threads: Int = 1
) -> Bool {
    guard kernel.isAvailable else { return false }
    guard m > 0, n > 0 else { return true }
    guard k > 0 else {
        withEpilogue(m: m, n: n, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu) { beta in
            scaleMatrix(c, rows: m, columns: n, stride: ldc, by: beta)
        }
        return true
    }
    let threads = max(1, min(threads, m * n * k / 262_144))
    let cached = KernelSettings.current.roundedWeights?.packed(
        b, transposed: transposeB, k: k, n: n, ldb: ldb, threads: threads)
    let scratch = cached == nil ? PackingBuffer(count: gpt_bf16_packed_b_count(k, n)) : nil
    defer { scratch?.release() }
    let packed = cached ?? UnsafePointer(scratch!.pointer)
    if let scratch {
        packBFloat16Panels(scratch.pointer, transposed: transposeB, k: k, n: n, b: b, ldb: ldb, threads: threads)
    }
    // Blocks of 96 rows (the C driver's) when there are enough of them, else of 32 columns (a pair of panels).
    let depth = gpt_bf16_depth(k), splitRows = m >= 192 || m >= n
    let units = splitRows ? (m + 95) / 96 : (n + 31) / 32
    let parts = threads <= 1 ? 1 : min(units, 4 * threads)
    let shared = (a: SendablePointer(UnsafeMutablePointer(mutating: a)),
                  b: SendablePointer(UnsafeMutablePointer(mutating: packed)),
                  c: SendablePointer(c), bias: bias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) })
    parallelForClaiming(parts, threads: threads) { part in
        let begin = units * part / parts, end = units * (part + 1) / parts
        guard end > begin else { return }
        let rows = splitRows ? (96 * begin)..<min(m, 96 * end) : 0..<m
        let columns = splitRows ? 0..<n : (32 * begin)..<min(n, 32 * end)
        let aBlock = shared.a.base + (transposeA ? rows.lowerBound : rows.lowerBound * lda)
        let cBlock = shared.c.base + rows.lowerBound * ldc + columns.lowerBound
        let biasBlock = shared.bias.map { UnsafePointer($0.base + columns.lowerBound) }
        let done = gpt_bf16_gemm(
            kernel.rawValue, transposeA ? 1 : 0, rows.count, columns.count, k, alpha, aBlock, lda,
            shared.b.base + columns.lowerBound * depth, beta, cBlock, ldc, biasBlock, relu ? 1 : 0) != 0
        if !done {  // the thread's buffer could not be allocated: this block in fp32
            let bBlock = b + (transposeB ? columns.lowerBound * ldb : columns.lowerBound)
            float32SerialGEMM(transposeA: transposeA, transposeB: transposeB, m: rows.count, n: columns.count, k: k,
                              alpha: alpha, a: aBlock, lda: lda, b: bBlock, ldb: ldb, beta: beta, c: cBlock, ldc: ldc,
                              bias: biasBlock, relu: relu)
        }
    }
    return true
}

/// The product on the bfloat16 kernel the settings in force choose for it
/// (``KernelSettings/bfloat16Kernel(m:n:k:transposeA:transposeB:b:)``), returning `true`; `false`, having done
/// nothing, where they choose fp32.
@inline(__always)
func multipliedInBFloat16(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, relu: Bool = false,
    threads: Int = 1
) -> Bool {
    guard k > 0, let kernel = KernelSettings.current.bfloat16Kernel(
        m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, b: b) else { return false }
    return bfloat16GEMM(
        kernel: kernel, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a,
        lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu, threads: threads)
}

/// Packs `op(B)` `[k, n]` into `out` (``gpt_bf16_packed_b_count(_:_:)`` elements), pairs of panels split across
/// `threads`.
func packBFloat16Panels(_ out: UnsafeMutablePointer<UInt16>, transposed: Bool, k: Int, n: Int,
                        b: UnsafePointer<Float>, ldb: Int, threads: Int) {
    let pairs = (n + 31) / 32, target = SendablePointer(out)
    let source = SendablePointer(UnsafeMutablePointer(mutating: b))
    let parts = threads > 1 && k * n >= 65_536 ? min(pairs, 4 * threads) : 1
    parallelForClaiming(parts, threads: threads) { part in
        let begin = 2 * (pairs * part / parts), end = 2 * (pairs * (part + 1) / parts)
        gpt_bf16_pack_b(target.base, transposed ? 1 : 0, k, n, source.base, ldb, begin, end)
    }
}

/// The fp32 product on the calling thread, whatever the precision in force.
func float32SerialGEMM(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, relu: Bool = false
) {
    if k > 0, let kernel = SerialMatrixKernel.choose(m: m, n: n, k: k) {
        kernel.multiply(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu)
    } else {
        cKernelGEMM(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu, parallel: false)
    }
}

/// Measures a bfloat16 kernel on a square product of side `size` (operands rounded on every call, as in training),
/// in GFLOP/s; nil when the kernel does not run here.
public func measureBFloat16Gigaflops(_ kernel: BFloat16Kernel, size: Int = 1024, repetitions: Int = 4) -> Double? {
    guard kernel.isAvailable else { return nil }
    return measureSquareProduct(size: size, repetitions: repetitions) { a, b, c in
        bfloat16GEMM(kernel: kernel, transposeA: false, transposeB: false, m: size, n: size, k: size, alpha: 1,
                     a: a, lda: size, b: b, ldb: size, beta: 0, c: c, ldc: size, threads: kernelThreadCount)
    }
}
