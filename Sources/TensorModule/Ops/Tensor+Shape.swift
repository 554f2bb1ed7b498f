// Reshapes, permutations, slices and concatenation. None changes a value; each backward routes gradients back.

extension Tensor {
    // MARK: - Reshape

    /// The same elements with another shape of equal count; `-1` in one place is inferred.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let unknown = newShape.firstIndex(of: -1) {
            resolved[unknown] = count / newShape.filter { $0 != -1 }.reduce(1, *)
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: resolved, storage: storage, parents: [self]) { dy in
            let dx = self.ensureGradient().pointer
            for i in 0..<self.count { dx[i] += dy.pointer[i] }
        }
    }

    // MARK: - Permute

    /// Reorders dimensions: result dimension `i` is `self` dimension `order[i]` (PyTorch's `permute`).
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permuted: \(order) is not a permutation of \(rank) dims")
        let newShape = order.map { shape[$0] }
        let sourceIndex = permutationSourceIndices(shape: shape, order: order)
        let out = TensorStorage(uninitialized: count)
        for i in 0..<count { out.pointer[i] = storage.pointer[sourceIndex[i]] }
        return Tensor(shape: newShape, storage: out, parents: [self]) { dy in
            let dx = self.ensureGradient().pointer
            for i in 0..<self.count { dx[sourceIndex[i]] += dy.pointer[i] }
        }
    }

    /// Swaps two dimensions (default: the last two, a matrix transpose).
    public func transposed(_ first: Int = -2, _ second: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt((first + rank) % rank, (second + rank) % rank)
        return permuted(order)
    }

    // MARK: - Slice and concatenate

    /// Elements `range` of dimension `axis`, e.g. one head's channels `[B, T, C] -> [B, T, headSize]`.
    public func sliced(_ range: Range<Int>, axis: Int = -1) -> Tensor {
        let axis = (axis + rank) % rank
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let size = shape[axis], width = range.count * inner
        var newShape = shape
        newShape[axis] = range.count
        let out = TensorStorage(uninitialized: outer * width)
        for o in 0..<outer {
            (out.pointer + o * width).update(from: storage.pointer + (o * size + range.lowerBound) * inner, count: width)
        }
        return Tensor(shape: newShape, storage: out, parents: [self]) { dy in
            let dx = self.ensureGradient().pointer
            for o in 0..<outer {
                let target = dx + (o * size + range.lowerBound) * inner, source = dy.pointer + o * width
                for j in 0..<width { target[j] += source[j] }
            }
        }
    }

    /// Splits dimension `axis` into consecutive pieces of the given sizes (PyTorch's `split`).
    public func split(_ sizes: [Int], axis: Int = -1) -> [Tensor] {
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(start..<(start + size), axis: axis)
        }
    }

    /// Joins tensors along dimension `axis`; all other dimensions must agree (PyTorch's `cat`).
    public static func concatenate(_ tensors: [Tensor], axis: Int = -1) -> Tensor {
        let first = tensors[0], rank = first.rank
        let axis = (axis + rank) % rank
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        let total = tensors.reduce(0) { $0 + $1.shape[axis] }
        var newShape = first.shape
        newShape[axis] = total
        let out = TensorStorage(uninitialized: outer * total * inner)
        var offset = 0
        var offsets: [Int] = []
        for tensor in tensors {
            precondition(tensor.rank == rank, "concatenate: ranks differ")
            let width = tensor.shape[axis] * inner
            for o in 0..<outer {
                (out.pointer + o * total * inner + offset).update(from: tensor.storage.pointer + o * width, count: width)
            }
            offsets.append(offset)
            offset += width
        }
        return Tensor(shape: newShape, storage: out, parents: tensors) { dy in
            for (tensor, start) in zip(tensors, offsets) where tensor.requiresGrad {
                let width = tensor.shape[axis] * inner, dx = tensor.ensureGradient().pointer
                for o in 0..<outer {
                    let source = dy.pointer + o * total * inner + start
                    for j in 0..<width { dx[o * width + j] += source[j] }
                }
            }
        }
    }
}

/// For each flat index of the permuted tensor, the flat index of the same element in the original.
func permutationSourceIndices(shape: [Int], order: [Int]) -> [Int] {
    let rank = shape.count
    var strides = Array(repeating: 1, count: rank)
    for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
    return stridedOffsets(shape: order.map { shape[$0] }, strides: order.map { strides[$0] })
}
