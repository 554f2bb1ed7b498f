import CKernels
#if canImport(Glibc)
import Glibc
#endif
// Matrix-vector products for one-token decoding. They are bound by how fast the weights stream from memory, so
// they skip packing, read one row at a time with four independent accumulators (several concurrent row streams
// measured slower here), and come in two storage formats: fp32, and bfloat16 (half the bytes, widened in registers).

/// `out[r] = (accumulate ? out[r] : 0) + Σ_c weight[r, c] * input[c]` for a row-major `[rows, columns]` fp32
/// weight, parallel over rows. `instructions` picks the kernel: the C one for AVX2 or AVX-512 where the CPU has
/// them, else the Swift one (the default is the widest available; tests pass each level to check them all).
public func matrixVectorProduct(
    out: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>, input: UnsafePointer<Float>,
    rows: Int, columns: Int, accumulate: Bool, instructions: VectorInstructions = .widest
) {
    let o = SendablePointer(out), w = SendablePointer(UnsafeMutablePointer(mutating: weight))
    let x = SendablePointer(UnsafeMutablePointer(mutating: input))
    if instructions != .portable {
        let level = Int32(instructions.rawValue)
        parallelFor(rows, minimumChunk: max(1, 8192 / max(1, columns))) { range in
            gpt_matvec_f32(level, o.base, w.base, x.base, range.lowerBound, range.upperBound, columns,
                           accumulate ? 1 : 0)
        }
        return
    }
    parallelFor(rows, minimumChunk: max(1, 8192 / max(1, columns))) { range in
        for r in range {
            let row = UnsafeRawPointer(w.base + r * columns), input = UnsafeRawPointer(x.base)
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var c = 0
            while c + 32 <= columns {
                a0 += row.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self)
                    * input.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self)
                a1 += row.loadUnaligned(fromByteOffset: c * 4 + 32, as: SIMD8<Float>.self)
                    * input.loadUnaligned(fromByteOffset: c * 4 + 32, as: SIMD8<Float>.self)
                a2 += row.loadUnaligned(fromByteOffset: c * 4 + 64, as: SIMD8<Float>.self)
                    * input.loadUnaligned(fromByteOffset: c * 4 + 64, as: SIMD8<Float>.self)
                a3 += row.loadUnaligned(fromByteOffset: c * 4 + 96, as: SIMD8<Float>.self)
                    * input.loadUnaligned(fromByteOffset: c * 4 + 96, as: SIMD8<Float>.self)
                c += 32
            }
            let total = ((a0 + a1) + (a2 + a3)).sum()
                + dotProduct(w.base + r * columns + c, x.base + c, count: columns - c)
            o.base[r] = accumulate ? o.base[r] + total : total
        }
    }
}

/// Weights rounded to bfloat16 (the top 16 bits of an fp32, rounded to nearest even): 8 bits of mantissa, the
/// full fp32 range. Shapes: the same `[rows, columns]` as the fp32 weight they copy.
public struct BFloat16Matrix: @unchecked Sendable {
    public let rows: Int, columns: Int
    let storage: UnsafeMutablePointer<UInt16>
    private let owner: Arena

    /// Rounds a row-major `[rows, columns]` fp32 matrix.
    public init(_ source: UnsafePointer<Float>, rows: Int, columns: Int) {
        self = Self.contiguous([(source, rows, columns)])[0]
    }

    private init(rows: Int, columns: Int, storage: UnsafeMutablePointer<UInt16>, owner: Arena) {
        (self.rows, self.columns, self.storage, self.owner) = (rows, columns, storage, owner)
    }

    /// Rounds several matrices into one allocation, back to back, in the order given: decoding then streams one
    /// region, which on Linux is also offered to the kernel for 2 MiB pages (fewer TLB misses per token).
    public static func contiguous(_ sources: [(UnsafePointer<Float>, rows: Int, columns: Int)]) -> [BFloat16Matrix] {
        let total = sources.reduce(0) { $0 + $1.rows * $1.columns }
        let arena = Arena(count: total)
        var offset = 0
        return sources.map { source, rows, columns in
            let copy = BFloat16Matrix(rows: rows, columns: columns, storage: arena.pointer + offset, owner: arena)
            copy.round(source)
            offset += rows * columns
            return copy
        }
    }

    /// Rounds `source` (`[rows, columns]`, the matrix this copies, changed since) into this copy's memory.
    func round(_ source: UnsafePointer<Float>) {
        for i in 0..<rows * columns { storage[i] = bfloat16Bits(source[i]) }
    }

    /// The fp32 value of element `index` (row-major).
    public subscript(index: Int) -> Float { Float(bitPattern: UInt32(storage[index]) << 16) }

    private final class Arena {
        static let hugePage = 2 << 20
        let pointer: UnsafeMutablePointer<UInt16>
        init(count: Int) {
            let bytes = max(2, count * 2), aligned = bytes >= Self.hugePage
            let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: aligned ? Self.hugePage : 64)
            #if os(Linux)
            if aligned { _ = madvise(raw, (bytes / Self.hugePage) * Self.hugePage, MADV_HUGEPAGE) }
            #endif
            pointer = raw.bindMemory(to: UInt16.self, capacity: max(1, count))
        }
        deinit { pointer.deallocate() }
    }
}

/// The bfloat16 bit pattern nearest to `value` (ties to even; NaN stays NaN).
@inline(__always)
public func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(bits >> 16) | 0x40 }
    return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
}

/// `out[r] = (accumulate ? out[r] : 0) + Σ_c weight[r, c] * input[c]` with bfloat16 weights, parallel over rows.
///
/// Two neighbouring bfloat16 weights share one 32-bit word: shifting the word left by 16 gives the even one as an
/// fp32, masking off its low half gives the odd one. So the input is first split, per 16 columns, into its 8 even
/// and 8 odd entries, and the inner loop needs one shift and one mask per 16 weights instead of unpacking them.
public func matrixVectorProduct(
    out: UnsafeMutablePointer<Float>, weight: BFloat16Matrix, input: UnsafePointer<Float>, accumulate: Bool,
    instructions: VectorInstructions = .widest
) {
    let columns = weight.columns, rows = weight.rows, paired = columns - columns % 16
    if instructions != .portable {
        let level = Int32(instructions.rawValue), o = SendablePointer(out)
        let x = SendablePointer(UnsafeMutablePointer(mutating: input))
        parallelFor(rows, minimumChunk: max(1, 8192 / max(1, columns))) { range in
            gpt_matvec_bf16(level, o.base, weight.storage, x.base, range.lowerBound, range.upperBound, columns,
                            accumulate ? 1 : 0)
        }
        return
    }
    withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, paired)) { split in
        for block in stride(from: 0, to: paired, by: 16) {
            for k in 0..<8 {
                split[block + k] = input[block + 2 * k]
                split[block + 8 + k] = input[block + 2 * k + 1]
            }
        }
        let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: input))
        let s = SendablePointer(split.baseAddress!)
        parallelFor(rows, minimumChunk: max(1, 8192 / max(1, columns))) { range in
            let mask = SIMD8<UInt32>(repeating: 0xFFFF_0000), even = UnsafeRawPointer(s.base)
            for r in range {
                let row = UnsafeRawPointer(weight.storage + r * columns)
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var c = 0
                @inline(__always)
                func add(_ words: SIMD8<UInt32>, _ c: Int, _ low: inout SIMD8<Float>, _ high: inout SIMD8<Float>) {
                    low += unsafeBitCast(words &<< 16, to: SIMD8<Float>.self)
                        * even.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self)
                    high += unsafeBitCast(words & mask, to: SIMD8<Float>.self)
                        * even.loadUnaligned(fromByteOffset: c * 4 + 32, as: SIMD8<Float>.self)
                }
                while c + 32 <= paired {
                    add(row.loadUnaligned(fromByteOffset: c * 2, as: SIMD8<UInt32>.self), c, &a0, &a1)
                    add(row.loadUnaligned(fromByteOffset: c * 2 + 32, as: SIMD8<UInt32>.self), c + 16, &a2, &a3)
                    c += 32
                }
                if c < paired {
                    add(row.loadUnaligned(fromByteOffset: c * 2, as: SIMD8<UInt32>.self), c, &a0, &a1)
                    c += 16
                }
                var total = ((a0 + a1) + (a2 + a3)).sum()
                for tail in c..<columns { total += weight[r * columns + tail] * x.base[tail] }
                o.base[r] = accumulate ? o.base[r] + total : total
            }
        }
    }
}

// MARK: - A few rows by a weight

/// Products of at most this many rows by a row-major weight run on the matrix-vector kernels
/// (``fewRowsProduct(m:n:k:a:lda:b:beta:c:ldc:bias:relu:)``): a batched decoding step has one row per sequence, and
/// packing the weight for the matrix kernel would cost more than the product.
public let fewRowsLimit = 16

/// `c[m, n] = beta c + a[m, k] Bᵀ (+ bias)`, then `max(0, c)` when `relu`, for a row-major weight `B` `[n, k]` and a
/// few rows (one-token decoding, `m` = 1, or a batched decoding step, one row per sequence), on the matrix-vector
/// kernels. Each thread takes a range of `B`'s rows and multiplies them by every row of `a` (fp32: in tiles of a few
/// weight rows by two input rows, `gpt_rows_f32`; bfloat16: a 32 KB block of rows by each input row in turn), so `B`
/// streams from memory once for all `m` rows, and each row's sums are exactly those of the product of that row alone. Under ``MatrixPrecision/bfloat16`` it reads `B`'s bfloat16 copy when
/// ``KernelSettings/roundedWeights`` holds one.
func fewRowsProduct(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, relu: Bool
) {
    let settings = KernelSettings.current
    let rounded = settings.precision == .bfloat16 ? settings.roundedWeights?.rowMajor(b) : nil
    let batched = m > 1 && settings.instructions != .portable
    // A batch's bias rows (and its ReLU) are written by the threads, each over its own columns.
    let threadsStart = batched && beta == 0
    let accumulate = threadsStart ? bias != nil : startRows(c, m: m, n: n, ldc: ldc, beta: beta, bias: bias)
    if !batched {
        for i in 0..<m {
            if let rounded {
                matrixVectorProduct(out: c + i * ldc, weight: rounded, input: a + i * lda, accumulate: accumulate,
                                    instructions: settings.instructions)
            } else {
                matrixVectorProduct(out: c + i * ldc, weight: b, input: a + i * lda, rows: n, columns: k,
                                    accumulate: accumulate, instructions: settings.instructions)
            }
        }
    } else {
        let level = Int32(settings.instructions.rawValue), block = max(2, 8192 / k & ~1)
        let out = SendablePointer(c), input = SendablePointer(UnsafeMutablePointer(mutating: a))
        let weight = SendablePointer(UnsafeMutablePointer(mutating: b))
        let biasRow = bias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        parallelFor(n, minimumChunk: block) { range in
            if threadsStart, let biasRow {
                for i in 0..<m {
                    (out.base + i * ldc + range.lowerBound).update(from: biasRow.base + range.lowerBound, count: range.count)
                }
            }
            if let rounded {
                for start in stride(from: range.lowerBound, to: range.upperBound, by: block) {
                    let end = min(range.upperBound, start + block)
                    for i in 0..<m {
                        gpt_matvec_bf16(level, out.base + i * ldc, rounded.storage, input.base + i * lda, start, end, k,
                                        accumulate ? 1 : 0)
                    }
                }
            } else {
                gpt_rows_f32(level, out.base, ldc, weight.base, input.base, lda, m, range.lowerBound, range.upperBound,
                             k, accumulate ? 1 : 0)
            }
            guard relu else { return }
            for i in 0..<m {
                let row = out.base + i * ldc
                for j in range where !(row[j] > 0) { row[j] = 0 }
            }
        }
        return
    }
    guard relu else { return }
    for i in 0..<m {
        let row = c + i * ldc
        for j in 0..<n where !(row[j] > 0) { row[j] = 0 }
    }
}
