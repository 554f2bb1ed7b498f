// Layer normalisation over the last dimension. N rows (all leading dimensions), C columns (channels).

extension Tensor {
    /// `y = (x - mean) / sqrt(var + eps) * weight + bias` over the last dimension (PyTorch's `nn.LayerNorm`,
    /// biased variance).
    ///
    /// - Parameters:
    ///   - weight: `[C]`; bias: `[C]` or `nil`.
    public func layerNorm(weight: Tensor, bias: Tensor?, epsilon: Float = 1e-5) -> Tensor {
        let columns = shape.last!, rows = count / columns
        let out = TensorStorage(uninitialized: count)
        let mean = TensorStorage(zeros: rows), rstd = TensorStorage(zeros: rows)
        layerNormForward(
            out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, input: storage.pointer,
            weight: weight.storage.pointer, bias: bias?.storage.pointer, rows: rows, columns: columns,
            epsilon: epsilon)
        let parents = [self, weight] + (bias.map { [$0] } ?? [])
        return Tensor(shape: shape, storage: out, parents: parents) { dy in
            layerNormBackward(
                inputGradient: self.requiresGrad ? self.ensureGradient().pointer : nil,
                weightGradient: weight.requiresGrad ? weight.ensureGradient().pointer : nil,
                biasGradient: bias?.requiresGrad == true ? bias!.ensureGradient().pointer : nil,
                outputGradient: dy.pointer, input: self.storage.pointer, weight: weight.storage.pointer,
                mean: mean.pointer, rstd: rstd.pointer, rows: rows, columns: columns)
        }
    }
}

/// Normalises each row of `input` (`[rows, columns]`), saving each row's `mean` and `rstd` (`[rows]`) for the
/// backward. Rows run in parallel.
public func layerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows: Int, columns: Int, epsilon: Float
) {
    let o = SendablePointer(out), m = SendablePointer(mean), r = SendablePointer(rstd)
    let x = SendablePointer(UnsafeMutablePointer(mutating: input))
    let w = SendablePointer(UnsafeMutablePointer(mutating: weight))
    let b = bias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
    parallelFor(rows, minimumChunk: max(1, 8192 / columns)) { range in
        for row in range {
            let xr = x.base + row * columns, y = o.base + row * columns
            let mu = sumOfElements(xr, count: columns) / Float(columns)
            for j in 0..<columns { y[j] = xr[j] - mu }  // centred, reused below
            let variance = dotProduct(y, y, count: columns) / Float(columns)
            let s = 1 / (variance + epsilon).squareRoot()
            if let b {
                for j in 0..<columns { y[j] = y[j] * s * w.base[j] + b.base[j] }
            } else {
                for j in 0..<columns { y[j] = y[j] * s * w.base[j] }
            }
            m.base[row] = mu
            r.base[row] = s
        }
    }
}

/// Accumulates the gradients of ``layerNormForward(out:mean:rstd:input:weight:bias:rows:columns:epsilon:)``:
/// `dx += rstd (dŷ - mean(dŷ) - x̂ mean(dŷ ⊙ x̂))` with `dŷ = dy ⊙ weight`, `dweight += Σ dy ⊙ x̂`, `dbias += Σ dy`.
public func layerNormBackward(
    inputGradient: UnsafeMutablePointer<Float>?, weightGradient: UnsafeMutablePointer<Float>?,
    biasGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, columns: Int
) {
    // Parameter gradients: a reduction over rows, vectorised along columns.
    var xHat = [Float](repeating: 0, count: columns)
    xHat.withUnsafeMutableBufferPointer { buffer in
        let xh = buffer.baseAddress!
        for r in 0..<rows where weightGradient != nil || biasGradient != nil {
            let x = input + r * columns, dy = outputGradient + r * columns
            let mu = mean[r], s = rstd[r]
            for j in 0..<columns { xh[j] = (x[j] - mu) * s }
            if let dw = weightGradient { for j in 0..<columns { dw[j] += dy[j] * xh[j] } }
            if let db = biasGradient { for j in 0..<columns { db[j] += dy[j] } }
        }
    }
    guard let inputGradient else { return }
    let dx = SendablePointer(inputGradient), dy = SendablePointer(UnsafeMutablePointer(mutating: outputGradient))
    let x = SendablePointer(UnsafeMutablePointer(mutating: input)), w = SendablePointer(UnsafeMutablePointer(mutating: weight))
    let m = SendablePointer(UnsafeMutablePointer(mutating: mean)), rs = SendablePointer(UnsafeMutablePointer(mutating: rstd))
    parallelFor(rows, minimumChunk: max(1, 8192 / columns)) { range in
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * columns)
        defer { scratch.deallocate() }
        let xh = scratch, dNorm = scratch + columns
        for r in range {
            let xr = x.base + r * columns, g = dy.base + r * columns, d = dx.base + r * columns
            let mu = m.base[r], s = rs.base[r]
            for j in 0..<columns {
                xh[j] = (xr[j] - mu) * s
                dNorm[j] = g[j] * w.base[j]
            }
            let meanDNorm = sumOfElements(dNorm, count: columns) / Float(columns)
            let meanDNormXHat = dotProduct(dNorm, xh, count: columns) / Float(columns)
            for j in 0..<columns { d[j] += s * (dNorm[j] - meanDNorm - xh[j] * meanDNormXHat) }
        }
    }
}
