// Softmax over the last dimension, and the fused log-softmax + cross-entropy loss.
// N is the number of rows (all leading dimensions), V the size of the last dimension (the vocabulary for logits).

extension Tensor {
    // MARK: - Softmax

    /// `softmax(x)_j = exp(x_j - max x) / Σ_k exp(x_k - max x)` over the last dimension: turns scores into
    /// probabilities that are positive and sum to one. `-inf` scores get probability zero.
    public func softmax() -> Tensor {
        let columns = shape.last!, rows = count / columns
        let out = TensorStorage(uninitialized: count)
        softmaxForward(out: out.pointer, input: storage.pointer, rows: rows, columns: columns)
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            softmaxBackward(
                inputGradient: self.ensureGradient().pointer, outputGradient: dy.pointer, output: out.pointer,
                rows: rows, columns: columns)
        }
    }

    // MARK: - Cross-entropy

    /// Mean cross-entropy of `self` as logits `[N, V]` (or `[B, T, V]`) against target indices (`N` of them):
    /// `-(1/n) Σ_i log softmax(logits_i)[targets_i]`, fused so no probability tensor is kept for the graph.
    ///
    /// A negative target (``ignoredTarget``, PyTorch's `ignore_index`) is left out: its row adds nothing to the loss
    /// nor to the gradient, and `n` counts only the other rows (a loss of 0 when every row is left out). That is how
    /// fine-tuning on conversations trains on the assistant's tokens alone.
    public func crossEntropy(targets: [Int]) -> Tensor {
        let classes = shape.last!, rows = count / classes
        precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows")
        precondition(targets.allSatisfy { $0 < classes }, "crossEntropy: a target is outside 0..<\(classes)")
        let probabilities = TensorStorage(uninitialized: count)
        let loss = targets.withUnsafeBufferPointer { t in
            crossEntropyForward(
                probabilities: probabilities.pointer, logits: storage.pointer, targets: t.baseAddress!,
                rows: rows, classes: classes)
        }
        return Tensor(shape: [], storage: TensorStorage([loss]), parents: [self]) { dy in
            targets.withUnsafeBufferPointer { t in
                crossEntropyBackward(
                    logitsGradient: self.ensureGradient().pointer, lossGradient: dy.pointer[0],
                    probabilities: probabilities.pointer, targets: t.baseAddress!, rows: rows, classes: classes)
            }
        }
    }

    /// The target ``crossEntropy(targets:)`` leaves out (any negative value is; nanochat's `ignore_index=-1`).
    public static let ignoredTarget = -1
}

/// The number of `targets` (`rows` of them) that count in a cross-entropy: those not negative.
public func countedTargets(_ targets: UnsafePointer<Int>, rows: Int) -> Int {
    var counted = 0
    for r in 0..<rows where targets[r] >= 0 { counted += 1 }
    return counted
}

/// Row-wise stable softmax. `out`, `input`: `[rows, columns]`.
public func softmaxForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int, columns: Int) {
    for r in 0..<rows {
        let x = input + r * columns, y = out + r * columns
        var maximum = -Float.infinity
        for j in 0..<columns { maximum = max(maximum, x[j]) }
        if maximum == -.infinity {
            y.update(repeating: 0, count: columns)
            continue
        }
        let inverse = 1 / exponentials(out: y, input: x, count: columns, shift: maximum)
        for j in 0..<columns { y[j] *= inverse }
    }
}

/// `dx += y ⊙ (dy - Σ_j dy_j y_j)` row-wise, from the forward's output `y`. All `[rows, columns]`.
public func softmaxBackward(
    inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>, output: UnsafePointer<Float>,
    rows: Int, columns: Int
) {
    for r in 0..<rows {
        let y = output + r * columns, dy = outputGradient + r * columns, dx = inputGradient + r * columns
        var dot: Float = 0
        for j in 0..<columns { dot += dy[j] * y[j] }
        for j in 0..<columns { dx[j] += y[j] * (dy[j] - dot) }
    }
}

/// Fills `probabilities` (`[rows, classes]`) with the softmax of `logits` and returns the mean negative
/// log-likelihood of `targets` (`rows` class indices) over the rows whose target is not negative (0 when none is;
/// a left-out row's probabilities are not computed).
public func crossEntropyForward(
    probabilities: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Int>,
    rows: Int, classes: Int
) -> Float {
    let p = SendablePointer(probabilities), x = SendablePointer(UnsafeMutablePointer(mutating: logits))
    let chunks = max(1, min(kernelThreadCount, rows))
    var partial = [Double](repeating: 0, count: chunks)
    partial.withUnsafeMutableBufferPointer { sums in
        let sumsOut = SendablePointer(sums.baseAddress!)
        parallelFor(chunks) { chunkRange in
            for chunk in chunkRange {
                var total = 0.0
                for r in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) where targets[r] >= 0 {
                    let row = x.base + r * classes
                    var maximum = -Float.infinity
                    for j in 0..<classes { maximum = max(maximum, row[j]) }
                    let out = p.base + r * classes
                    let sum = exponentials(out: out, input: row, count: classes, shift: maximum)
                    let inverse = 1 / sum
                    for j in 0..<classes { out[j] *= inverse }
                    total += Double(_logf(sum) + maximum - row[targets[r]])
                }
                sumsOut.base[chunk] = total
            }
        }
    }
    let counted = countedTargets(targets, rows: rows)
    return counted == 0 ? 0 : Float(partial.reduce(0, +) / Double(counted))
}

/// `dlogits += lossGradient / n * (probabilities - onehot(targets))` on the `n` rows whose target is not negative;
/// the other rows' gradient is untouched.
public func crossEntropyBackward(
    logitsGradient: UnsafeMutablePointer<Float>, lossGradient: Float, probabilities: UnsafePointer<Float>,
    targets: UnsafePointer<Int>, rows: Int, classes: Int
) {
    let scale = lossGradient / Float(max(1, countedTargets(targets, rows: rows)))
    for r in 0..<rows where targets[r] >= 0 {
        let dx = logitsGradient + r * classes, p = probabilities + r * classes
        for j in 0..<classes { dx[j] += scale * p[j] }
        dx[targets[r]] -= scale
    }
}
