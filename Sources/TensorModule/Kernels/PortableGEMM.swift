/// The portable matrix product: packed panels, a register-blocked SIMD micro-kernel, threads over row blocks.
///
/// `op(A)` is packed into panels of `rowsPerPanel` rows and `op(B)` into panels of `columnsPerPanel` columns, both
/// `depthBlock` deep, so the micro-kernel streams both operands contiguously whatever their transposition.
/// `parallel: false` keeps it on the calling thread. Same contract as ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
public func portableGEMM(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true
) {
    guard m > 0, n > 0 else { return }
    scaleMatrix(c, rows: m, columns: n, stride: ldc, by: beta)
    guard k > 0, alpha != 0 else { return }
    let mr = PortableGEMMTile.rows, nr = PortableGEMMTile.columns
    let depthBlock = 256
    let columnPanels = (n + nr - 1) / nr
    let rowPanels = (m + mr - 1) / mr
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
            let packedA = UnsafeMutablePointer<Float>.allocate(capacity: rowRange.count * mr * depth)
            defer { packedA.deallocate() }
            let rowStart = rowRange.lowerBound * mr
            let rowCount = min(m, rowRange.upperBound * mr) - rowStart
            packPanels(
                packedA, source: aIn.base + (transposeA ? rowStart : rowStart * lda), stride: lda,
                outerIsSlow: !transposeA, outer: rowCount, depth: depth, start: p0, width: mr)
            for rp in rowRange {
                for cp in columnRange {
                    PortableGEMMTile.multiply(
                        c: cOut.base, ldc: ldc, row: rp * mr, column: cp * nr, rows: min(mr, m - rp * mr),
                        columns: min(nr, n - cp * nr), depth: depth, alpha: alpha,
                        a: packedA + (rp - rowRange.lowerBound) * mr * depth,
                        b: packedBShared.base + cp * nr * depth)
                }
            }
        }
        p0 += depth
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

/// The 4 x 16 register tile of the portable product.
enum PortableGEMMTile {
    static let rows = 4
    static let columns = 16

    /// `C[row..<row+rows, column..<column+columns] += alpha * Apanel * Bpanel` over `depth`.
    @inline(__always)
    static func multiply(
        c: UnsafeMutablePointer<Float>, ldc: Int, row: Int, column: Int, rows: Int, columns: Int, depth: Int,
        alpha: Float, a: UnsafePointer<Float>, b: UnsafePointer<Float>
    ) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        let bVectors = UnsafeRawPointer(b)
        for p in 0..<depth {
            let b0 = bVectors.loadUnaligned(fromByteOffset: p * 64, as: SIMD8<Float>.self)
            let b1 = bVectors.loadUnaligned(fromByteOffset: p * 64 + 32, as: SIMD8<Float>.self)
            let ap = a + p * 4
            let a0 = SIMD8<Float>(repeating: ap[0]), a1 = SIMD8<Float>(repeating: ap[1])
            let a2 = SIMD8<Float>(repeating: ap[2]), a3 = SIMD8<Float>(repeating: ap[3])
            c00 += a0 * b0; c01 += a0 * b1
            c10 += a1 * b0; c11 += a1 * b1
            c20 += a2 * b0; c21 += a2 * b1
            c30 += a3 * b0; c31 += a3 * b1
        }
        let accumulators = [(c00, c01), (c10, c11), (c20, c21), (c30, c31)]
        for i in 0..<rows {
            let out = c + (row + i) * ldc + column
            let (low, high) = accumulators[i]
            if columns == 16 {
                let raw = UnsafeMutableRawPointer(out)
                raw.storeBytes(
                    of: raw.loadUnaligned(as: SIMD8<Float>.self) + alpha * low, as: SIMD8<Float>.self)
                raw.storeBytes(
                    of: raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) + alpha * high,
                    toByteOffset: 32, as: SIMD8<Float>.self)
            } else {
                for j in 0..<columns { out[j] += alpha * (j < 8 ? low[j] : high[j - 8]) }
            }
        }
    }
}
