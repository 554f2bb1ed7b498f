import CKernels

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
            let input = self.requiresGrad ? self.gradientForWriting() : nil
            layerNormBackward(
                inputGradient: input?.storage.pointer, accumulate: input?.fresh != true,
                weightGradient: weight.requiresGrad ? weight.ensureGradient().pointer : nil,
                biasGradient: bias?.requiresGrad == true ? bias!.ensureGradient().pointer : nil,
                outputGradient: dy.pointer, input: self.storage.pointer, weight: weight.storage.pointer,
                mean: mean.pointer, rstd: rstd.pointer, rows: rows, columns: columns)
        }
    }
}

/// Normalises each row of `input` (`[rows, columns]`), saving each row's `mean` and `rstd` (`[rows]`) for the
/// backward. Rows run in parallel, on the C kernel of `instructions` (`.portable`: its plain C loop).
public func layerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows: Int, columns: Int, epsilon: Float, instructions: VectorInstructions = .widest
) {
    let o = SendablePointer(out), m = SendablePointer(mean), r = SendablePointer(rstd)
    let x = SendablePointer(UnsafeMutablePointer(mutating: input))
    let w = SendablePointer(UnsafeMutablePointer(mutating: weight))
    let b = bias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
    let level = Int32(instructions.rawValue)
    parallelFor(rows, minimumChunk: max(1, 8192 / columns)) { range in
        let first = range.lowerBound
        gpt_layer_norm_forward(
            level, o.base + first * columns, m.base + first, r.base + first, x.base + first * columns, w.base,
            b?.base, range.count, columns, epsilon)
    }
}

/// The gradients of ``layerNormForward(out:mean:rstd:input:weight:bias:rows:columns:epsilon:instructions:)``:
/// `dx += rstd (dŷ - mean(dŷ) - x̂ mean(dŷ ⊙ x̂))` with `dŷ = dy ⊙ weight` (`=` when `accumulate` is false),
/// `dweight += Σ dy ⊙ x̂`, `dbias += Σ dy`.
///
/// Rows run in parallel. The parameter gradients, a sum over rows, are summed per block of rows into buffers of
/// their own and then added up in block order; the block count is fixed, so the result does not depend on the
/// number of threads.
public func layerNormBackward(
    inputGradient: UnsafeMutablePointer<Float>?, accumulate: Bool = true,
    weightGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?,
    outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, columns: Int,
    instructions: VectorInstructions = .widest
) {
    let level = Int32(instructions.rawValue), add: Int32 = accumulate ? 1 : 0
    let dx = inputGradient.map { SendablePointer($0) }
    let dy = SendablePointer(UnsafeMutablePointer(mutating: outputGradient))
    let x = SendablePointer(UnsafeMutablePointer(mutating: input))
    let w = SendablePointer(UnsafeMutablePointer(mutating: weight))
    let m = SendablePointer(UnsafeMutablePointer(mutating: mean))
    let rs = SendablePointer(UnsafeMutablePointer(mutating: rstd))
    func run(_ first: Int, _ count: Int, _ dw: UnsafeMutablePointer<Float>?, _ db: UnsafeMutablePointer<Float>?) {
        gpt_layer_norm_backward(
            level, dx.map { $0.base + first * columns }, add, dw, db, dy.base + first * columns,
            x.base + first * columns, w.base, m.base + first, rs.base + first, count, columns)
    }
    let parameters = weightGradient != nil || biasGradient != nil
    let blocks = parameters && rows >= 256 && kernelThreadCount > 1 ? 8 : 1
    guard blocks > 1 else {
        if parameters {
            run(0, rows, weightGradient, biasGradient)
        } else {
            parallelFor(rows, minimumChunk: max(1, 8192 / columns)) { range in
                run(range.lowerBound, range.count, nil, nil)
            }
        }
        return
    }
    let partials = TensorStorage(zeros: blocks * 2 * columns), sums = SendablePointer(partials.pointer)
    let hasWeight = weightGradient != nil, hasBias = biasGradient != nil
    parallelForClaiming(blocks, threads: kernelThreadCount) { block in
        let first = rows * block / blocks, last = rows * (block + 1) / blocks
        let own = sums.base + block * 2 * columns
        run(first, last - first, hasWeight ? own : nil, hasBias ? own + columns : nil)
    }
    for block in 0..<blocks {
        let own = partials.pointer + block * 2 * columns
        if let dw = weightGradient { for j in 0..<columns { dw[j] += own[j] } }
        if let db = biasGradient { for j in 0..<columns { db[j] += own[columns + j] } }
    }
}
