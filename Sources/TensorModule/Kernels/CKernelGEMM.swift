import CKernels

/// The matrix product without a BLAS: this package's own kernel.
///
/// With AVX2 or AVX-512 (`instructions`, the widest available by default) this is the C kernel of `gpt_sgemm`:
/// B packed into panels one depth block at a time, A read in place, a 6 x 16 or 12 x 32 register tile; threads take
/// blocks of rows as in ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:bias:relu:)``. Otherwise (the
/// baseline, or another architecture) it is the Swift kernel of ``PortableGEMMTile``. `parallel: false` keeps it on
/// the calling thread. Same contract as ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:bias:relu:)``.
public func cKernelGEMM(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, relu: Bool = false,
    parallel: Bool = true, instructions: VectorInstructions = .widest
) {
    guard m > 0, n > 0 else { return }
    let level = min(instructions, .widest)
    guard level >= .avx2, k > 0 else {
        withEpilogue(m: m, n: n, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu) { beta in
            PortableGEMMTile.gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, parallel: parallel)
        }
        return
    }
    splitGEMM(
        .vector(Int32(level.rawValue)), transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
        alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu,
        threadLimit: parallel ? kernelThreadCount : 1)
}

extension PortableGEMMTile {
    /// The product on the Swift tile: `op(A)` packed into panels of ``rows`` rows and `op(B)` into panels of
    /// ``columns`` columns, both `depthBlock` deep, so the tile streams both operands contiguously whatever their
    /// transposition; threads take row (or column) panels.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool
    ) {
        guard m > 0, n > 0 else { return }
        scaleMatrix(c, rows: m, columns: n, stride: ldc, by: beta)
        guard k > 0, alpha != 0 else { return }
        let (mr, nr, depthBlock) = (rows, columns, 256)
        let columnPanels = (n + nr - 1) / nr, rowPanels = (m + mr - 1) / mr
        let packedB = UnsafeMutablePointer<Float>.allocate(capacity: columnPanels * nr * depthBlock)
        defer { packedB.deallocate() }
        let cOut = SendablePointer(c), packedBShared = SendablePointer(packedB)
        let aIn = SendablePointer(UnsafeMutablePointer(mutating: a))
        var p0 = 0
        while p0 < k {
            let depth = min(depthBlock, k - p0)
            packPanels(
                packedB, source: b, stride: ldb, outerIsSlow: transposeB, outer: n, depth: depth, start: p0, width: nr)
            // Split the larger panel dimension across threads.
            let splitRows = rowPanels >= columnPanels || rowPanels >= 2 * kernelThreadCount
            let work = splitRows ? rowPanels : columnPanels
            let flopsPerUnit = (splitRows ? mr * n : nr * m) * depth
            parallelFor(work, minimumChunk: parallel ? max(1, 65_536 / max(1, flopsPerUnit)) : work) { range in
                let rowRange = splitRows ? range : 0..<rowPanels
                let columnRange = splitRows ? 0..<columnPanels : range
                let packedA = UnsafeMutablePointer<Float>.allocate(capacity: rowRange.count * mr * depth * spread)
                defer { packedA.deallocate() }
                let rowStart = rowRange.lowerBound * mr
                let rowCount = min(m, rowRange.upperBound * mr) - rowStart
                packPanels(
                    packedA, source: aIn.base + (transposeA ? rowStart : rowStart * lda), stride: lda,
                    outerIsSlow: !transposeA, outer: rowCount, depth: depth, start: p0, width: mr)
                spreadInPlace(packedA, count: rowRange.count * mr * depth, times: spread)
                for rp in rowRange {
                    for cp in columnRange {
                        multiply(
                            c: cOut.base, ldc: ldc, row: rp * mr, column: cp * nr, rows: min(mr, m - rp * mr),
                            columns: min(nr, n - cp * nr), depth: depth, alpha: alpha,
                            a: packedA + (rp - rowRange.lowerBound) * mr * depth * spread,
                            b: packedBShared.base + cp * nr * depth)
                    }
                }
            }
            p0 += depth
        }
    }
}

/// Packs `outer` rows (or columns) x `depth` of a matrix into panels of `width`, each laid out `[depth][width]`,
/// zero-padded past `outer`. `outerIsSlow` says the matrix is stored with `outer` as the slow index (element
/// `(i, p)` at `source[i * stride + p]`): the layout of `A` untransposed and of `B` transposed.
@inline(__always)
func packPanels(
    _ packed: UnsafeMutablePointer<Float>, source: UnsafePointer<Float>, stride: Int, outerIsSlow: Bool,
    outer: Int, depth: Int, start: Int, width: Int
) {
    let panels = (outer + width - 1) / width
    for panel in 0..<panels {
        let destination = packed + panel * width * depth
        let first = panel * width
        let count = min(width, outer - first)
        if count < width { destination.update(repeating: 0, count: width * depth) }
        if outerIsSlow {
            // Element (i, p) at source[i * stride + p].
            for i in 0..<count {
                let row = source + (first + i) * stride + start
                for p in 0..<depth { destination[p * width + i] = row[p] }
            }
        } else {
            // Element (i, p) at source[p * stride + i].
            for p in 0..<depth {
                let row = source + (start + p) * stride + first
                let out = destination + p * width
                for i in 0..<count { out[i] = row[i] }
            }
        }
    }
}

/// Repeats each of the first `count` elements `times` times, in place (from the end backwards), so that the
/// micro-kernel reads a ready-made broadcast vector instead of shuffling a scalar into every lane.
@inline(__always)
func spreadInPlace(_ values: UnsafeMutablePointer<Float>, count: Int, times: Int) {
    guard times > 1 else { return }
    var i = count - 1
    while i >= 0 {
        let value = values[i]
        for copy in 0..<times { values[i * times + copy] = value }
        i -= 1
    }
}

/// `C[i, j] *= beta` for an `[rows, columns]` block with row stride `stride` (zeroes when `beta == 0`).
func scaleMatrix(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, stride: Int, by beta: Float) {
    guard beta != 1 else { return }
    for i in 0..<rows {
        let row = c + i * stride
        if beta == 0 {
            row.update(repeating: 0, count: columns)
        } else {
            for j in 0..<columns { row[j] *= beta }
        }
    }
}

/// The 6 x 8 register tile of the portable product.
///
/// Sized for the 16 vector registers of baseline x86-64 (SSE, which is what Swift compiles to without
/// machine-specific flags): 12 four-wide accumulators, two vectors of `B` and one of `A`. `A` arrives with each
/// element already repeated four times (``spread``), so the loop has no shuffles. The earlier 4 x 16 tile needed
/// 16 accumulators alone and spilled on every step.
enum PortableGEMMTile {
    static let rows = 6
    static let columns = 8
    /// How many times each packed element of `A` is repeated.
    static let spread = 4

    /// `C[row..<row+rows, column..<column+columns] += alpha * Apanel * Bpanel` over `depth`.
    @inline(__always)
    static func multiply(
        c: UnsafeMutablePointer<Float>, ldc: Int, row: Int, column: Int, rows: Int, columns: Int, depth: Int,
        alpha: Float, a: UnsafePointer<Float>, b: UnsafePointer<Float>
    ) {
        var c0 = SIMD4<Float>(), c1 = SIMD4<Float>(), c2 = SIMD4<Float>(), c3 = SIMD4<Float>()
        var c4 = SIMD4<Float>(), c5 = SIMD4<Float>(), c6 = SIMD4<Float>(), c7 = SIMD4<Float>()
        var c8 = SIMD4<Float>(), c9 = SIMD4<Float>(), c10 = SIMD4<Float>(), c11 = SIMD4<Float>()
        let bVectors = UnsafeRawPointer(b), aVectors = UnsafeRawPointer(a)
        @inline(__always) func step(_ p: Int) {
            let low = bVectors.loadUnaligned(fromByteOffset: p * 32, as: SIMD4<Float>.self)
            let high = bVectors.loadUnaligned(fromByteOffset: p * 32 + 16, as: SIMD4<Float>.self)
            let base = p * 96
            var av = aVectors.loadUnaligned(fromByteOffset: base, as: SIMD4<Float>.self)
            c0 += av * low; c1 += av * high
            av = aVectors.loadUnaligned(fromByteOffset: base + 16, as: SIMD4<Float>.self)
            c2 += av * low; c3 += av * high
            av = aVectors.loadUnaligned(fromByteOffset: base + 32, as: SIMD4<Float>.self)
            c4 += av * low; c5 += av * high
            av = aVectors.loadUnaligned(fromByteOffset: base + 48, as: SIMD4<Float>.self)
            c6 += av * low; c7 += av * high
            av = aVectors.loadUnaligned(fromByteOffset: base + 64, as: SIMD4<Float>.self)
            c8 += av * low; c9 += av * high
            av = aVectors.loadUnaligned(fromByteOffset: base + 80, as: SIMD4<Float>.self)
            c10 += av * low; c11 += av * high
        }
        for p in 0..<depth { step(p) }
        @inline(__always) func store(_ i: Int, _ low: SIMD4<Float>, _ high: SIMD4<Float>) {
            guard i < rows else { return }
            let out = c + (row + i) * ldc + column
            if columns == 8 {
                let raw = UnsafeMutableRawPointer(out)
                raw.storeBytes(of: raw.loadUnaligned(as: SIMD4<Float>.self) + alpha * low, as: SIMD4<Float>.self)
                raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self) + alpha * high,
                               toByteOffset: 16, as: SIMD4<Float>.self)
            } else {
                for j in 0..<columns { out[j] += alpha * (j < 4 ? low[j] : high[j - 4]) }
            }
        }
        store(0, c0, c1)
        store(1, c2, c3)
        store(2, c4, c5)
        store(3, c6, c7)
        store(4, c8, c9)
        store(5, c10, c11)
    }
}
