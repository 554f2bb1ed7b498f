// Matrix products with autodiff. N is the number of rows (every leading dimension flattened), `in`/`out` the
// feature sizes of a linear layer, m/k/n the sizes of a batched matrix product.

extension Tensor {
    // MARK: - Linear

    /// `y = x Wᵀ + b`, PyTorch's `nn.Linear`: the weight is stored `[out, in]`; with `relu`, `max(0, y)` in the
    /// same pass (the bias and the ReLU are the matrix product's epilogue, and the backward masks the gradient in
    /// place instead of keeping the product for a separate ReLU).
    ///
    /// - Parameters:
    ///   - weight: `[out, in]`.
    ///   - bias: `[out]`, or `nil`.
    /// - Returns: `[..., out]` for `self` of shape `[..., in]`.
    public func linear(weight: Tensor, bias: Tensor? = nil, relu: Bool = false) -> Tensor {
        let inputs = shape.last!, outputs = weight.shape[0]
        precondition(weight.rank == 2 && weight.shape[1] == inputs, "linear: weight \(weight.shape) does not fit input \(shape)")
        let rows = count / inputs
        let out = TensorStorage(uninitialized: rows * outputs)
        gemm(  // one row (a decoded token) runs the matrix-vector kernels
            transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs, alpha: 1,
            a: storage.pointer, lda: inputs, b: weight.storage.pointer, ldb: inputs,
            beta: 0, c: out.pointer, ldc: outputs, bias: bias?.storage.pointer, relu: relu)
        let outShape = Array(shape.dropLast()) + [outputs]
        guard GradientMode.isEnabled, requiresGrad || weight.requiresGrad || bias?.requiresGrad == true else {
            return Tensor(shape: outShape, storage: out)  // nothing to record (decoding, evaluation)
        }
        let parents = [self, weight] + (bias.map { [$0] } ?? [])
        return Tensor(shape: outShape, storage: out, parents: parents) { dy in
            if relu {  // through the ReLU: this gradient is this op's alone, so it is masked where it lies
                reluBackward(inputGradient: dy.pointer, outputGradient: dy.pointer, input: out.pointer,
                             count: rows * outputs, accumulate: false)
            }
            // The input gradient and the parameter gradients are independent: one core computes each (rather
            // than both cores splitting each product), which halves the packing and synchronisation.
            // A gradient met here first is written (beta 0) instead of zeroed and then added to.
            let dxSlot = self.requiresGrad ? self.gradientForWriting() : nil
            let dWSlot = weight.requiresGrad ? weight.gradientForWriting() : nil
            let dx = dxSlot.map { SendablePointer($0.storage.pointer) }, dxBeta: Float = dxSlot?.fresh == true ? 0 : 1
            let dW = dWSlot.map { SendablePointer($0.storage.pointer) }, dWBeta: Float = dWSlot?.fresh == true ? 0 : 1
            let db = bias?.requiresGrad == true ? SendablePointer(bias!.ensureGradient().pointer) : nil
            let g = SendablePointer(dy.pointer), x = SendablePointer(self.storage.pointer)
            let w = SendablePointer(weight.storage.pointer)
            let tasks = [dx != nil, dW != nil || db != nil]
            let run: (Int) -> Void = { task in
                if task == 0, let dx {  // dx[N, in] += dy[N, out] W[out, in]
                    serialGEMM(
                        transposeA: false, transposeB: false, m: rows, n: inputs, k: outputs, alpha: 1,
                        a: g.base, lda: outputs, b: w.base, ldb: inputs, beta: dxBeta, c: dx.base, ldc: inputs)
                }
                if task == 1 {
                    if let dW {  // dW[out, in] += dyᵀ[out, N] x[N, in]
                        serialGEMM(
                            transposeA: true, transposeB: false, m: outputs, n: inputs, k: rows, alpha: 1,
                            a: g.base, lda: outputs, b: x.base, ldb: inputs, beta: dWBeta, c: dW.base, ldc: inputs)
                    }
                    if let db { sumRowsSerially(into: db.base, g.base, rows: rows, columns: outputs) }
                }
            }
            // Unless the batch is large enough that `gemm` splits the weight gradient along its depth (the tokens)
            // without re-packing, and then keeps every core busy on each product in turn.
            let deep = splitsAlongDepth(m: outputs, n: inputs, k: rows)
            if tasks[0] && tasks[1] && kernelThreadCount > 1 && !deep {
                parallelFor(2) { range in for task in range { run(task) } }
            } else {
                if tasks[0] {
                    gemm(transposeA: false, transposeB: false, m: rows, n: inputs, k: outputs, alpha: 1,
                         a: g.base, lda: outputs, b: w.base, ldb: inputs, beta: dxBeta, c: dx!.base, ldc: inputs)
                }
                if let dW {
                    gemm(transposeA: true, transposeB: false, m: outputs, n: inputs, k: rows, alpha: 1,
                         a: g.base, lda: outputs, b: x.base, ldb: inputs, beta: dWBeta, c: dW.base, ldc: inputs)
                }
                if let db { sumRows(into: db.base, g.base, rows: rows, columns: outputs) }
            }
        }
    }

    // MARK: - Matrix product

    /// Batched matrix product `self @ other`: `[..., m, k] @ [..., k, n] -> [..., m, n]`.
    ///
    /// The leading (batch) dimensions must be equal, or `other` may be a plain `[k, n]` matrix shared by every batch.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs matrices, got \(shape) and \(other.shape)")
        let m = shape[rank - 2], k = shape[rank - 1], n = other.shape[other.rank - 1]
        precondition(other.shape[other.rank - 2] == k, "matmul: \(shape) @ \(other.shape) inner sizes differ")
        let batch = count / (m * k)
        let sharedOther = other.rank == 2
        precondition(sharedOther || other.count / (k * n) == batch, "matmul: batch sizes of \(shape), \(other.shape)")
        let out = TensorStorage(uninitialized: batch * m * n)
        let otherStride = sharedOther ? 0 : k * n
        for i in 0..<batch {
            gemm(
                transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
                a: storage.pointer + i * m * k, lda: k, b: other.storage.pointer + i * otherStride, ldb: n,
                beta: 0, c: out.pointer + i * m * n, ldc: n)
        }
        return Tensor(shape: Array(shape.dropLast()) + [n], storage: out, parents: [self, other]) { dy in
            for i in 0..<batch {
                if self.requiresGrad {  // dA[m, k] += dY[m, n] Bᵀ
                    gemm(
                        transposeA: false, transposeB: true, m: m, n: k, k: n, alpha: 1,
                        a: dy.pointer + i * m * n, lda: n, b: other.storage.pointer + i * otherStride, ldb: n,
                        beta: 1, c: self.ensureGradient().pointer + i * m * k, ldc: k)
                }
                if other.requiresGrad {  // dB[k, n] += Aᵀ dY[m, n]
                    gemm(
                        transposeA: true, transposeB: false, m: k, n: n, k: m, alpha: 1,
                        a: self.storage.pointer + i * m * k, lda: k, b: dy.pointer + i * m * n, ldb: n,
                        beta: 1, c: other.ensureGradient().pointer + i * otherStride, ldc: n)
                }
            }
        }
    }
}

/// `out[j] += Σ_r input[r, j]` for an `[rows, columns]` matrix, on the calling thread.
func sumRowsSerially(into out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, rows: Int, columns: Int) {
    sumRows(into: out, input, rows: rows, stride: columns, columns: 0..<columns)
}

/// `out[j] += Σ_r input[r, j]`, split across cores by columns.
func sumRows(into out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, rows: Int, columns: Int) {
    let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    parallelFor(columns, minimumChunk: max(16, 65_536 / max(1, rows))) { range in
        sumRows(into: o.base, x.base, rows: rows, stride: columns, columns: range)
    }
}

/// `out[j] += Σ_r input[r * stride + j]` for `j` in `columns`: 32 columns at a time summed down the rows in
/// registers (the plain loop stored and reloaded `out[j]` for every row, one element at a time), then 8, then 1.
@inline(__always)
private func sumRows(into out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, rows: Int, stride: Int,
                     columns: Range<Int>) {
    let raw = UnsafeRawPointer(input)
    func load(_ r: Int, _ j: Int) -> SIMD8<Float> {
        raw.loadUnaligned(fromByteOffset: (r * stride + j) * 4, as: SIMD8<Float>.self)
    }
    func add(_ sum: SIMD8<Float>, at j: Int) {
        let target = UnsafeMutableRawPointer(out + j)
        target.storeBytes(of: target.loadUnaligned(as: SIMD8<Float>.self) + sum, as: SIMD8<Float>.self)
    }
    var j = columns.lowerBound
    while j + 32 <= columns.upperBound {
        var (s0, s1, s2, s3) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        for r in 0..<rows {
            s0 += load(r, j)
            s1 += load(r, j + 8)
            s2 += load(r, j + 16)
            s3 += load(r, j + 24)
        }
        add(s0, at: j)
        add(s1, at: j + 8)
        add(s2, at: j + 16)
        add(s3, at: j + 24)
        j += 32
    }
    while j + 8 <= columns.upperBound {
        var sum = SIMD8<Float>()
        for r in 0..<rows { sum += load(r, j) }
        add(sum, at: j)
        j += 8
    }
    while j < columns.upperBound {
        var sum: Float = 0
        for r in 0..<rows { sum += input[r * stride + j] }
        out[j] += sum
        j += 1
    }
}
