import CKernels
import Foundation

/// Which implementation runs matrix products.
public enum MatrixBackend: Sendable, Equatable, CustomStringConvertible {
    /// A platform BLAS: Accelerate, or a shared library found at run time (its file name).
    case blas(String)
    /// No BLAS: this package's own kernel,
    /// ``cKernelGEMM(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:bias:relu:parallel:instructions:)``:
    /// the C kernel of `gpt_sgemm` (AVX2 or AVX-512), or its Swift tile on a CPU with neither.
    case cKernel

    public var description: String {
        switch self {
        case .blas(let name): "BLAS (\(name))"
        case .cKernel: VectorInstructions.widest >= .avx2 ? "C kernel (\(VectorInstructions.widest))"
            : "Swift kernel (\(VectorInstructions.widest))"
        }
    }

    /// The backend in use: a BLAS when one loads (unless `GPT_BLAS=none`), else the C kernel.
    public static var current: MatrixBackend { activeBLAS.map { .blas($0.name) } ?? .cKernel }
}

/// The BLAS loaded once per process (Swift globals are initialised lazily and thread-safely).
let loadedBLAS: BLASLibrary? = BLASLibrary.load()

/// The BLAS products may use under the settings in force.
var activeBLAS: BLASLibrary? { KernelSettings.current.usesBLAS ? loadedBLAS : nil }

/// Products of at most this many multiply-adds (`m * n * k`) run on the C kernel of `gpt_sgemm` when the CPU has
/// AVX2 or AVX-512, even where a BLAS is loaded: at the training presets' small shapes it matches or beats the BLAS,
/// which packs both operands on every call, while the BLAS stays ahead on the large products of `lecture`.
/// `GPT_GEMM=blas` sends every product to the BLAS instead (to compare).
var cKernelProductLimit: Int { KernelSettings.current.cKernelProductLimit }

/// Which kernel multiplies on one thread: a BLAS, or the C kernel at an instruction level (2 or 3).
enum SerialMatrixKernel {
    case blas(BLASLibrary)
    case vector(Int32)

    /// The kernel for an `m x n x k` product: nil where only the Swift tile of ``cKernelGEMM`` applies.
    static func choose(m: Int, n: Int, k: Int, instructions: VectorInstructions = .widest) -> SerialMatrixKernel? {
        let level = instructions >= .avx2 ? Int32(instructions.rawValue) : nil
        if let blas = activeBLAS, level == nil || m * n * k > cKernelProductLimit { return .blas(blas) }
        return level.map { .vector($0) }
    }

    /// `C = alpha op(A) op(B) + beta C (+ bias)`, then `max(0, C)` when `relu`, on the calling thread (`k > 0`).
    @inline(__always)
    func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, relu: Bool = false
    ) {
        if case .vector(let level) = self, gpt_sgemm(
            level, transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias,
            relu ? 1 : 0) != 0
        {
            return
        }
        // The BLAS (or, should the C kernel's buffer be unavailable, the Swift tile), with the bias and the ReLU
        // as passes of their own.
        withEpilogue(m: m, n: n, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu) { beta in
            if case .blas(let blas) = self {
                blas.sgemm(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            } else {
                PortableGEMMTile.gemm(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, parallel: false)
            }
        }
    }
}

/// Runs `product(beta)`, a product into the `[m, n]` block `c`, with `C += bias` folded in first (C = beta C + bias,
/// then the product with beta 1) and `max(0, C)` after, for kernels without an epilogue of their own.
@inline(__always)
func withEpilogue(
    m: Int, n: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, relu: Bool,
    _ product: (Float) -> Void
) {
    if let bias {
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 {
                row.update(from: bias, count: n)
            } else {
                for j in 0..<n { row[j] = beta * row[j] + bias[j] }
            }
        }
    }
    product(bias == nil ? beta : 1)
    guard relu else { return }
    for i in 0..<m {  // max(0, C) with NaN to 0, as the C kernel's epilogue; eight lanes at a time
        let row = c + i * ldc
        var j = 0
        while j + 8 <= n {
            let raw = UnsafeMutableRawPointer(row + j), value = raw.loadUnaligned(as: SIMD8<Float>.self)
            raw.storeBytes(of: value.replacing(with: 0, where: .!(value .> 0)), as: SIMD8<Float>.self)
            j += 8
        }
        while j < n {
            if !(row[j] > 0) { row[j] = 0 }
            j += 1
        }
    }
}

/// Sets each of the `m` rows of `c` (stride `ldc`) to `beta c + bias` before a product that accumulates into it (or
/// leaves it to be overwritten when `beta` is 0 and there is no bias); returns whether the product must accumulate.
func startRows(_ c: UnsafeMutablePointer<Float>, m: Int, n: Int, ldc: Int, beta: Float, bias: UnsafePointer<Float>?) -> Bool {
    for i in 0..<m {
        let row = c + i * ldc
        if beta == 0 {
            if let bias { row.update(from: bias, count: n) }
        } else {
            scaleMatrix(row, rows: 1, columns: n, stride: ldc, by: beta)
            if let bias { for j in 0..<n { row[j] += bias[j] } }
        }
    }
    return beta != 0 || bias != nil
}

/// General matrix product, row-major: `C = alpha * op(A) * op(B) + beta * C`.
///
/// The shape picks the kernel: a few rows by a row-major `B` (`m` ≤ ``fewRowsLimit``, `op(B) = Bᵀ`: a linear
/// layer's forward in one-token decoding, or in a batched decoding step) runs the matrix-vector kernels
/// (``fewRowsProduct(m:n:k:a:lda:b:beta:c:ldc:bias:relu:)``), everything else a matrix-matrix kernel.
///
/// Under ``MatrixPrecision/q8``, a product by one of the weights of ``KernelSettings/roundedWeights`` (`op(B) = Bᵀ`,
/// one row or many) runs on its 8-bit copy
/// (``quantizedProduct(m:n:k:a:lda:weight:beta:c:ldc:bias:relu:instructions:)``); the rest stay fp32.
///
/// Under ``KernelSettings/precision`` ``MatrixPrecision/bfloat16`` (with a ``KernelSettings/bfloat16Kernel``),
/// products of at least ``KernelSettings/bfloat16ProductLimit`` multiply-adds (and
/// ``KernelSettings/bfloat16MinimumIntensity`` per element rounded) round `op(A)` and `op(B)` to bfloat16
/// and sum in fp32
/// (``bfloat16GEMM(kernel:transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:bias:relu:threads:)``).
///
/// - Parameters:
///   - transposeA: `op(A) = Aᵀ` when true; `A` is then stored `[k, m]`, else `[m, k]`.
///   - transposeB: `op(B) = Bᵀ` when true; `B` is then stored `[n, k]`, else `[k, n]`.
///   - m: rows of `C`; n: columns of `C`; k: the shared dimension.
///   - lda, ldb, ldc: row strides (elements) of `A`, `B`, `C` as stored.
///   - c: `[m, n]` output, read when `beta != 0`.
///   - bias: `[n]`, added to every row of `C` (a linear layer's bias), or `nil`.
///   - relu: `C = max(0, C)` at the end (a linear layer followed by a ReLU).
public func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, relu: Bool = false
) {
    guard m > 0, n > 0 else { return }
    if transposeB, !transposeA, alpha == 1, ldb == k, k > 0, KernelSettings.current.precision == .q8,
       let weight = KernelSettings.current.roundedWeights?.quantized(b)
    {
        quantizedProduct(m: m, n: n, k: k, a: a, lda: lda, weight: weight, beta: beta, c: c, ldc: ldc, bias: bias,
                         relu: relu)
        return
    }
    if m <= fewRowsLimit, transposeB, !transposeA, alpha == 1, ldb == k, k > 0 {
        fewRowsProduct(m: m, n: n, k: k, a: a, lda: lda, b: b, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu)
        return
    }
    if multipliedInBFloat16(
        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
        ldb: ldb, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu, threads: kernelThreadCount)
    {
        return
    }
    guard k > 0, let kernel = SerialMatrixKernel.choose(m: m, n: n, k: k) else {
        cKernelGEMM(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu)
        return
    }
    splitGEMM(
        kernel, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
        a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu)
}

/// Runs a product on `kernel`, split across the kernel threads.
///
/// Each kernel runs single-threaded (a BLAS's idle threads spin and steal the cores from ours); large products are
/// split here into blocks of rows (or columns) of C. Threads claim blocks one at a time from a shared counter, so a
/// thread that the hypervisor slows down does less of the work instead of holding the others up. Blocks stay at
/// least `minimumSide` wide, so the operand that every block re-packs costs little next to the product.
func splitGEMM(
    _ kernel: SerialMatrixKernel, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, relu: Bool = false,
    threadLimit: Int = kernelThreadCount
) {
    let splitRows = m >= n, side = splitRows ? m : n, minimumSide = 256
    let threads = min(threadLimit, max(1, m * n * k / 262_144), side)
    if threads > 1, splitsAlongDepth(m: m, n: n, k: k), bias == nil, !relu {
        splitDepthGEMM(
            kernel, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
            b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
        return
    }
    let parts = threads <= 1 ? 1 : max(threads, min(4 * threads, side / minimumSide))
    let aShared = SendablePointer(UnsafeMutablePointer(mutating: a))
    let bShared = SendablePointer(UnsafeMutablePointer(mutating: b)), cShared = SendablePointer(c)
    let biasShared = bias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
    parallelForClaiming(parts, threads: threads) { part in
        let start = side * part / parts, end = side * (part + 1) / parts
        guard end > start else { return }
        if splitRows {
            kernel.multiply(
                transposeA: transposeA, transposeB: transposeB, m: end - start, n: n, k: k, alpha: alpha,
                a: aShared.base + (transposeA ? start : start * lda), lda: lda, b: bShared.base, ldb: ldb,
                beta: beta, c: cShared.base + start * ldc, ldc: ldc, bias: biasShared?.base, relu: relu)
        } else {
            kernel.multiply(
                transposeA: transposeA, transposeB: transposeB, m: m, n: end - start, k: k, alpha: alpha,
                a: aShared.base, lda: lda, b: bShared.base + (transposeB ? start * ldb : start), ldb: ldb,
                beta: beta, c: cShared.base + start, ldc: ldc, bias: biasShared.map { $0.base + start }, relu: relu)
        }
    }
}

/// Whether a multi-threaded `m x n x k` product is split along its depth (see `splitDepthGEMM`): much deeper than
/// wide, with slices of at most 2M elements each, so that the 8 of them stay within 64 MB.
func splitsAlongDepth(m: Int, n: Int, k: Int) -> Bool { k >= 2048 && k >= 8 * max(m, n) && m * n <= 2 << 20 }

/// A product much deeper than it is wide (a weight gradient `dW = dYᵀ X` sums over every token of the batch):
/// split along `k` into `depthParts` slices, each multiplied into a buffer of its own by whichever thread claims
/// it, then `C = beta C + Σ slices` in slice order. Splitting rows instead would have every thread re-pack the
/// whole deep operand and leave one thread waiting on the other. The slice count is fixed, so the result does not
/// depend on the number of threads or on which thread took which slice.
private func splitDepthGEMM(
    _ kernel: SerialMatrixKernel, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
    let depthParts = 8, slices = TensorStorage(uninitialized: depthParts * m * n)
    let out = SendablePointer(slices.pointer), cShared = SendablePointer(c)
    let aShared = SendablePointer(UnsafeMutablePointer(mutating: a))
    let bShared = SendablePointer(UnsafeMutablePointer(mutating: b))
    parallelForClaiming(depthParts, threads: threads) { part in
        let start = k * part / depthParts, end = k * (part + 1) / depthParts
        kernel.multiply(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: end - start, alpha: alpha,
            a: aShared.base + (transposeA ? start * lda : start), lda: lda,
            b: bShared.base + (transposeB ? start : start * ldb), ldb: ldb,
            beta: 0, c: out.base + part * m * n, ldc: n)
    }
    parallelFor(m, minimumChunk: max(1, 16_384 / n)) { rows in
        for i in rows {
            let row = cShared.base + i * ldc
            scaleMatrix(row, rows: 1, columns: n, stride: ldc, by: beta)
            for part in 0..<depthParts {
                let slice = out.base + part * m * n + i * n
                for j in 0..<n { row[j] += slice[j] }
            }
        }
    }
    withExtendedLifetime(slices) {}
}

/// ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:bias:relu:)`` on the calling thread only, for
/// kernels that are already parallel over an outer loop (attention over batch x heads).
public func serialGEMM(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    if multipliedInBFloat16(
        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
        ldb: ldb, beta: beta, c: c, ldc: ldc)
    {
        return
    }
    float32SerialGEMM(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}

/// The reference matrix product: a triple loop with `Double` accumulation. Slow and obviously right; the tests use
/// it as the oracle for the fast kernels (llm.c's `matmul_forward_naive`).
public func naiveGEMM(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(x) * Double(y)
            }
            let previous = beta == 0 ? 0 : beta * c[i * ldc + j]
            c[i * ldc + j] = alpha * Float(sum) + previous
        }
    }
}

/// Measures the GEMM throughput of the active backend on a square product of side `size`, in GFLOP/s.
/// `cKernel`: this package's own kernel even where a BLAS is loaded.
public func measureGEMMGigaflops(size: Int = 512, repetitions: Int = 8, cKernel: Bool = false) -> Double {
    measureSquareProduct(size: size, repetitions: repetitions) { a, b, c in
        if cKernel {
            cKernelGEMM(
                transposeA: false, transposeB: false, m: size, n: size, k: size, alpha: 1,
                a: a, lda: size, b: b, ldb: size, beta: 0, c: c, ldc: size)
        } else {
            gemm(
                transposeA: false, transposeB: false, m: size, n: size, k: size, alpha: 1,
                a: a, lda: size, b: b, ldb: size, beta: 0, c: c, ldc: size)
        }
    }
}

/// GFLOP/s of `product` on random `size x size` operands `a`, `b` into `c`: once untimed, then `repetitions` times.
func measureSquareProduct(
    size: Int, repetitions: Int,
    _ product: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
) -> Double {
    let a = TensorStorage(zeros: size * size), b = TensorStorage(zeros: size * size)
    let c = TensorStorage(zeros: size * size)
    var generator = SeededGenerator(seed: 1)
    generator.fillNormal(a.buffer, mean: 0, std: 1)
    generator.fillNormal(b.buffer, mean: 0, std: 1)
    product(a.pointer, b.pointer, c.pointer)
    let elapsed = ContinuousClock().measure { for _ in 0..<repetitions { product(a.pointer, b.pointer, c.pointer) } }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return 2 * Double(size * size * size) * Double(repetitions) / seconds / 1e9
}
