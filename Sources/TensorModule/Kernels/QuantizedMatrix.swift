import CKernels
#if canImport(Glibc)
import Glibc
#endif
// 8-bit weights (``MatrixPrecision/q8``): llama.cpp's Q8_0 blocks, and the products of activations by them.

/// A weight `[rows, columns]` in Q8_0 blocks: per row, `blocks = ⌈columns / 32⌉` blocks of 32 int8 values `q` in
/// `[-127, 127]` with one fp16 scale `d` each (element `(r, c)` is `d[r, c / 32] · q[r, c]`), quantised as
/// llama.cpp's `quantize_row_q8_0_ref` does (`d = max|x| / 127`, `q = round(x / d)`). About 1.06 bytes a weight.
///
/// Stored as two arrays: the values, as `q + 128` (unsigned, what AVX512-VNNI's `vpdpbusd` multiplies),
/// `[rows, blocks · 32]` with each row padded by zeros, and the scales `[rows, blocks]`.
public struct QuantizedMatrix: @unchecked Sendable {
    public let rows: Int, columns: Int
    /// Blocks of 32 per row.
    public var blocks: Int { (columns + 31) / 32 }
    let quants: UnsafeMutablePointer<UInt8>
    let scales: UnsafeMutablePointer<UInt16>
    private let owner: Arena

    /// Quantises a row-major `[rows, columns]` fp32 matrix.
    public init(_ source: UnsafePointer<Float>, rows: Int, columns: Int) {
        self = Self.contiguous([(source, rows, columns)])[0]
    }

    private init(rows: Int, columns: Int, quants: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<UInt16>,
                 owner: Arena) {
        (self.rows, self.columns, self.quants, self.scales, self.owner) = (rows, columns, quants, scales, owner)
    }

    /// Quantises several matrices into one allocation, back to back in the order given (decoding streams one
    /// region), the rows split across the kernel threads.
    public static func contiguous(_ sources: [(UnsafePointer<Float>, rows: Int, columns: Int)]) -> [QuantizedMatrix] {
        let sizes = sources.map { (values: $0.rows * ($0.columns + 31) / 32 * 32, scales: $0.rows * (($0.columns + 31) / 32)) }
        let arena = Arena(values: sizes.reduce(0) { $0 + $1.values }, scales: sizes.reduce(0) { $0 + $1.scales })
        var (valueOffset, scaleOffset) = (0, 0)
        return zip(sources, sizes).map { source, size in
            let matrix = QuantizedMatrix(rows: source.rows, columns: source.columns, quants: arena.values + valueOffset,
                                         scales: arena.scales + scaleOffset, owner: arena)
            matrix.quantize(source.0)
            (valueOffset, scaleOffset) = (valueOffset + size.values, scaleOffset + size.scales)
            return matrix
        }
    }

    /// Quantises `source` (`[rows, columns]`, the matrix this copies, changed since) into this copy's memory.
    func quantize(_ source: UnsafePointer<Float>) {
        let q = SendablePointer(quants), d = SendablePointer(scales)
        let x = SendablePointer(UnsafeMutablePointer(mutating: source)), columns = columns
        parallelFor(rows, minimumChunk: max(1, 65_536 / max(1, columns))) { range in
            gpt_q8_quantize_weights(q.base, d.base, x.base, range.lowerBound, range.upperBound, columns)
        }
    }

    /// The fp32 values `[rows, columns]`, row-major (each `d · q`).
    public func dequantized() -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * columns) { buffer, count in
            gpt_q8_dequantize_rows(buffer.baseAddress!, quants, scales, 0, rows, columns)
            count = rows * columns
        }
    }

    /// The matrix as llama.cpp's array of `block_q8_0` (GGUF's Q8_0 tensor data): for each row, for each block of 32,
    /// the fp16 scale `d` (little-endian), then the 32 int8 values. `columns` must be a multiple of 32.
    public func ggmlBlocks() -> [UInt8] {
        precondition(columns % 32 == 0, "ggmlBlocks: \(columns) columns are not whole blocks of 32")
        var out = [UInt8](repeating: 0, count: rows * blocks * 34)
        for block in 0..<(rows * blocks) {
            let d = scales[block], q = quants + block * 32, start = block * 34
            (out[start], out[start + 1]) = (UInt8(d & 0xFF), UInt8(d >> 8))
            for i in 0..<32 { out[start + 2 + i] = q[i] ^ 0x80 }  // q + 128 back to int8's bits
        }
        return out
    }

    /// Bytes this matrix takes: values and scales.
    public var byteCount: Int { rows * blocks * 34 }

    private final class Arena {
        let values: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<UInt16>
        init(values count: Int, scales scaleCount: Int) {
            let bytes = max(64, count), hugePage = 2 << 20, aligned = bytes >= hugePage
            let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: aligned ? hugePage : 64)
            #if os(Linux)
            if aligned { _ = madvise(raw, (bytes / hugePage) * hugePage, MADV_HUGEPAGE) }
            #endif
            values = raw.bindMemory(to: UInt8.self, capacity: bytes)
            scales = .allocate(capacity: max(1, scaleCount))
        }
        deinit {
            values.deallocate()
            scales.deallocate()
        }
    }
}

/// The kernel of 8-bit products (``gpt_q8_kernel(_:)``) at the widest instructions of the settings in force.
public enum QuantizedKernel: Int32, Sendable, CustomStringConvertible {
    case portable = 0, avx2 = 2, avx512VNNI = 3

    /// The kernel this machine runs.
    public static var machine: QuantizedKernel {
        QuantizedKernel(rawValue: gpt_q8_kernel(Int32(KernelSettings.current.instructions.rawValue))) ?? .portable
    }

    public var description: String {
        switch self {
        case .portable: "plain C (int32 sums per block)"
        case .avx2: "AVX2 (vpmaddubsw)"
        case .avx512VNNI: "AVX512-VNNI (vpdpbusd)"
        }
    }
}

/// `c[m, n] = beta c + a[m, k] Wᵀ (+ bias)`, then `max(0, c)` when `relu`, for a weight `W` `[n, k]` in Q8_0: the
/// rows of `a` (row stride `lda`) quantised per block of 32 as the weights are (fp32 scales), each block's int8
/// products summed in int32, scaled and summed in fp32, on the widest kernel of `instructions`
/// (``gpt_q8_kernel(_:)``: AVX512-VNNI, AVX2 or plain C), the weight's rows split across the kernel threads.
public func quantizedProduct(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, weight: QuantizedMatrix, beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, relu: Bool,
    instructions: VectorInstructions = KernelSettings.current.instructions
) {
    precondition(weight.rows == n && weight.columns == k, "quantizedProduct: weight [\(weight.rows), \(weight.columns)] is not [\(n), \(k)]")
    guard m > 0, n > 0 else { return }
    if m >= widenedProductRows {
        widenedProduct(m: m, n: n, k: k, a: a, lda: lda, weight: weight, beta: beta, c: c, ldc: ldc, bias: bias,
                       relu: relu)
        return
    }
    let blocks = weight.blocks
    let values = TensorStorage(uninitialized: (m * blocks * 32 + 3) / 4), scales = TensorStorage(uninitialized: m * blocks)
    let sums = TensorStorage(uninitialized: m * blocks)
    let quants = UnsafeMutableRawPointer(values.pointer).bindMemory(to: Int8.self, capacity: m * blocks * 32)
    for i in 0..<m {  // rows one at a time: `a` may have a stride
        gpt_q8_quantize_activations(quants + i * blocks * 32, scales.pointer + i * blocks, sums.pointer + i * blocks,
                                    a + i * lda, 1, k)
    }
    let accumulate = startRows(c, m: m, n: n, ldc: ldc, beta: beta, bias: bias)
    let level = Int32(instructions.rawValue), out = SendablePointer(c)
    let shared = (q: SendablePointer(quants), d: SendablePointer(scales.pointer), s: SendablePointer(sums.pointer))
    parallelFor(n, minimumChunk: max(1, 16_384 / max(1, k * min(m, 4)))) { range in
        gpt_q8_gemm(level, out.base, ldc, shared.q.base, shared.d.base, shared.s.base, m, weight.quants,
                    weight.scales, range.lowerBound, range.upperBound, blocks, accumulate ? 1 : 0)
    }
    if relu {
        for i in 0..<m { for j in 0..<n where !(c[i * ldc + j] > 0) { c[i * ldc + j] = 0 } }
    }
    withExtendedLifetime((values, scales, sums)) {}
}

/// Products of at least this many rows (a prompt's prefill) run on dequantised weights (`widenedProduct`).
let widenedProductRows = 32

/// ``quantizedProduct(m:n:k:a:lda:weight:beta:c:ldc:bias:relu:instructions:)`` for many rows: the weight's rows
/// dequantised, 512 at a time, and multiplied by the fp32 activations on the machine's bfloat16 units where it has
/// them (``BFloat16Kernel/amx`` or ``BFloat16Kernel/avx512BF16``: the weights `d · q` and the activations rounded
/// to bfloat16), else on the fp32 kernels. Either beats `vpdpbusd` on a prompt's hundreds of rows (measured on a
/// Xeon with AMX; on a Zen 4, AVX512-BF16 took a 500-token prompt from 600 to 880 tokens/s against fp32). The
/// 8-bit copy stays the only one kept.
func widenedProduct(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, weight: QuantizedMatrix, beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, relu: Bool
) {
    let chunk = 512, rows = TensorStorage(uninitialized: min(n, chunk) * k)
    let values = SendablePointer(rows.pointer)
    let bfloat16 = KernelSettings.current.bfloat16Kernel.flatMap { $0 == .amx || $0 == .avx512BF16 ? $0 : nil }
    var float32 = KernelSettings.current
    (float32.precision, float32.roundedWeights) = (.float32, nil)
    for start in stride(from: 0, to: n, by: chunk) {
        let count = min(chunk, n - start)
        parallelFor(count, minimumChunk: 64) { range in
            gpt_q8_dequantize_rows(values.base, weight.quants + start * weight.blocks * 32,
                                   weight.scales + start * weight.blocks, range.lowerBound, range.upperBound, k)
        }
        if let bfloat16 {
            bfloat16GEMM(kernel: bfloat16, transposeA: false, transposeB: true, m: m, n: count, k: k, alpha: 1, a: a,
                         lda: lda, b: rows.pointer, ldb: k, beta: beta, c: c + start, ldc: ldc,
                         bias: bias.map { $0 + start }, relu: relu, threads: kernelThreadCount)
        } else {
            KernelSettings.with(float32) {
                gemm(transposeA: false, transposeB: true, m: m, n: count, k: k, alpha: 1, a: a, lda: lda,
                     b: rows.pointer, ldb: k, beta: beta, c: c + start, ldc: ldc, bias: bias.map { $0 + start },
                     relu: relu)
            }
        }
    }
    withExtendedLifetime(rows) {}
}
