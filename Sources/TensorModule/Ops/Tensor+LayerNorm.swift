// Layer normalisation over the last dimension. N rows (all leading dimensions), C columns (channels).

extension Tensor {
    /// `y = (x - mean) / sqrt(var + eps) * weight + bias` over the last dimension (PyTorch's `nn.LayerNorm`,
    /// biased variance).
    ///
    /// - Parameters:
    ///   - weight: `[C]`; bias: `[C]` or `nil`.
    public func layerNorm(weight: Tensor, bias: Tensor?, epsilon: Float = 1e-5) -> Tensor {
        let columns = shape.last!, rows = count / columns
        let out = TensorStorage(zeros: count)
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
/// backward.
public func layerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows: Int, columns: Int, epsilon: Float
) {
    for r in 0..<rows {
        let x = input + r * columns, y = out + r * columns
        var sum: Float = 0
        for j in 0..<columns { sum += x[j] }
        let mu = sum / Float(columns)
        var squares: Float = 0
        for j in 0..<columns {
            let d = x[j] - mu
            squares += d * d
        }
        let s = 1 / (squares / Float(columns) + epsilon).squareRoot()
        for j in 0..<columns { y[j] = (x[j] - mu) * s * weight[j] + (bias?[j] ?? 0) }
        mean[r] = mu
        rstd[r] = s
    }
}

/// Accumulates the gradients of ``layerNormForward(out:mean:rstd:input:weight:bias:rows:columns:epsilon:)``:
/// `dx += rstd (dŷ - mean(dŷ) - x̂ mean(dŷ ⊙ x̂))` with `dŷ = dy ⊙ weight`, `dweight += Σ dy ⊙ x̂`, `dbias += Σ dy`.
public func layerNormBackward(
    inputGradient: UnsafeMutablePointer<Float>?, weightGradient: UnsafeMutablePointer<Float>?,
    biasGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, columns: Int
) {
    for r in 0..<rows {
        let x = input + r * columns, dy = outputGradient + r * columns
        let mu = mean[r], s = rstd[r]
        var meanDNorm: Float = 0, meanDNormXHat: Float = 0
        for j in 0..<columns {
            let xHat = (x[j] - mu) * s
            let dNorm = dy[j] * weight[j]
            meanDNorm += dNorm
            meanDNormXHat += dNorm * xHat
            weightGradient?[j] += dy[j] * xHat
            biasGradient?[j] += dy[j]
        }
        meanDNorm /= Float(columns)
        meanDNormXHat /= Float(columns)
        if let dx = inputGradient.map({ $0 + r * columns }) {
            for j in 0..<columns {
                let xHat = (x[j] - mu) * s
                dx[j] += s * (dy[j] * weight[j] - meanDNorm - xHat * meanDNormXHat)
            }
        }
    }
}
