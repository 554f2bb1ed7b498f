// Elementwise arithmetic with NumPy broadcasting, and reductions to a scalar.

/// The shape two operands broadcast to (NumPy rules: align from the right; sizes equal or one of them 1).
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var result: [Int] = []
    for i in 0..<rank {
        let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        guard x == y || x == 1 || y == 1 else { return nil }
        result.append(max(x, y))
    }
    return result
}

/// For each flat index of `outputShape`, the flat index of an operand of `shape` broadcast to it.
func broadcastSourceIndices(of shape: [Int], to outputShape: [Int]) -> [Int] {
    let rank = outputShape.count
    let padded = Array(repeating: 1, count: rank - shape.count) + shape
    var strides = Array(repeating: 0, count: rank)
    var step = 1
    for d in stride(from: rank - 1, through: 0, by: -1) {
        strides[d] = padded[d] == 1 ? 0 : step
        step *= padded[d]
    }
    return stridedOffsets(shape: outputShape, strides: strides)
}

/// For each flat (row-major) index of `shape`, the offset `Σ_d index_d * strides[d]`: how broadcasts and
/// permutations find the source of every element.
func stridedOffsets(shape: [Int], strides: [Int]) -> [Int] {
    let rank = shape.count
    let total = shape.reduce(1, *)
    var offsets = [Int](repeating: 0, count: total)
    var counter = [Int](repeating: 0, count: rank)
    var offset = 0
    for flat in 0..<total {
        offsets[flat] = offset
        var d = rank - 1
        while d >= 0 {
            counter[d] += 1
            offset += strides[d]
            if counter[d] < shape[d] { break }
            offset -= strides[d] * counter[d]
            counter[d] = 0
            d -= 1
        }
    }
    return offsets
}

extension Tensor {
    // MARK: - Add and multiply

    /// Elementwise sum with broadcasting, e.g. `[B, T, C] + [T, C]` (token plus position embeddings).
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.combined(with: rhs, multiply: false) }

    /// Elementwise product with broadcasting.
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.combined(with: rhs, multiply: true) }

    private func combined(with other: Tensor, multiply: Bool) -> Tensor {
        guard let outShape = broadcastShape(shape, other.shape) else {
            preconditionFailure("cannot broadcast \(shape) with \(other.shape)")
        }
        let total = outShape.reduce(1, *)
        // Fast path: `other` repeats along the leading dimensions (equal shapes, or a bias/position table that is
        // a suffix of this shape); element i of the output reads other[i % other.count].
        if !multiply, count == total, Array(shape.suffix(other.rank)) == other.shape {
            return addRepeating(other, total: total)
        }
        let ia = count == total ? nil : broadcastSourceIndices(of: shape, to: outShape)
        let ib = other.count == total ? nil : broadcastSourceIndices(of: other.shape, to: outShape)
        let out = TensorStorage(uninitialized: total)
        let a = storage.pointer, b = other.storage.pointer, y = out.pointer
        for i in 0..<total {
            let x1 = a[ia?[i] ?? i], x2 = b[ib?[i] ?? i]
            y[i] = multiply ? x1 * x2 : x1 + x2
        }
        return Tensor(shape: outShape, storage: out, parents: [self, other]) { dy in
            if self.requiresGrad {
                let da = self.ensureGradient().pointer
                for i in 0..<total { da[ia?[i] ?? i] += multiply ? dy.pointer[i] * b[ib?[i] ?? i] : dy.pointer[i] }
            }
            if other.requiresGrad {
                let db = other.ensureGradient().pointer
                for i in 0..<total { db[ib?[i] ?? i] += multiply ? dy.pointer[i] * a[ia?[i] ?? i] : dy.pointer[i] }
            }
        }
    }

    /// `self + other` where `other` tiles this tensor's trailing elements (`other.count` divides `count`).
    private func addRepeating(_ other: Tensor, total: Int) -> Tensor {
        let width = other.count, repeats = total / width
        let out = TensorStorage(uninitialized: total)
        let x = SendablePointer(storage.pointer), y = SendablePointer(out.pointer), b = SendablePointer(other.storage.pointer)
        if repeats == 1 {  // equal shapes (a residual connection): split the elements
            parallelFor(total, minimumChunk: 32_768) { range in
                let start = range.lowerBound
                addScaled(into: y.base + start, x.base + start, b.base + start, count: range.count)
            }
        } else {
            parallelFor(repeats, minimumChunk: max(1, 32_768 / width)) { range in
                for r in range { addScaled(into: y.base + r * width, x.base + r * width, b.base, count: width) }
            }
        }
        return Tensor(shape: shape, storage: out, parents: [self, other]) { dy in
            // The sum's gradient passes through unchanged: `self` takes the buffer itself when it can.
            if self.requiresGrad { self.receiveGradient(dy, adopting: true) }
            if other.requiresGrad && repeats == 1 {
                other.receiveGradient(dy, adopting: !self.requiresGrad)
            } else if other.requiresGrad {  // a reduction over the repeats
                sumRowsSerially(into: other.ensureGradient().pointer, dy.pointer, rows: repeats, columns: width)
            }
        }
    }

    /// `self * factor`.
    public func scaled(by factor: Float) -> Tensor {
        let out = TensorStorage(zeros: count)
        for i in 0..<count { out.pointer[i] = storage.pointer[i] * factor }
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            let dx = self.ensureGradient().pointer
            for i in 0..<self.count { dx[i] += dy.pointer[i] * factor }
        }
    }

    // MARK: - Reductions

    /// The sum of all elements, as a one-element tensor of shape `[]`.
    public func sum() -> Tensor {
        var total: Double = 0
        for i in 0..<count { total += Double(storage.pointer[i]) }
        return Tensor(shape: [], storage: TensorStorage([Float(total)]), parents: [self]) { dy in
            let dx = self.ensureGradient().pointer, g = dy.pointer[0]
            for i in 0..<self.count { dx[i] += g }
        }
    }

    /// The mean of all elements, as a one-element tensor of shape `[]`.
    public func mean() -> Tensor { sum().scaled(by: 1 / Float(count)) }
}
