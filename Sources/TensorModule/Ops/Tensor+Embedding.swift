// Embedding lookup and dropout: the two ops that take integer or random input besides tensors.

extension Tensor {
    // MARK: - Embedding

    /// Looks up rows of this table (`[V, C]`) for each index: `out[..., :] = table[indices[...], :]`.
    ///
    /// - Parameters:
    ///   - indices: token ids in `0..<V`, row-major for `shape`.
    ///   - shape: the shape of the index grid, e.g. `[B, T]`.
    /// - Returns: `shape + [C]`.
    public func embedding(indices: [Int], shape indexShape: [Int]) -> Tensor {
        precondition(rank == 2, "embedding table must be [V, C], got \(shape)")
        precondition(indices.count == indexShape.reduce(1, *), "embedding: \(indices.count) indices for \(indexShape)")
        let rows = shape[0], columns = shape[1]
        let out = TensorStorage(uninitialized: indices.count * columns)
        for (i, index) in indices.enumerated() {
            precondition(index >= 0 && index < rows, "embedding index \(index) outside 0..<\(rows)")
            (out.pointer + i * columns).update(from: storage.pointer + index * columns, count: columns)
        }
        return Tensor(shape: indexShape + [columns], storage: out, parents: [self]) { dy in
            let table = self.ensureGradient().pointer
            for (i, index) in indices.enumerated() {
                let row = table + index * columns, g = dy.pointer + i * columns
                for j in 0..<columns { row[j] += g[j] }
            }
        }
    }

    // MARK: - Dropout

    /// Inverted dropout: zeroes each element with probability `probability` and scales the rest by
    /// `1 / (1 - probability)`, so evaluation needs no rescaling. Identity when `probability == 0`.
    public func dropout(probability: Float, generator: inout SeededGenerator) -> Tensor {
        guard probability > 0 else { return self }
        let keepScale = 1 / (1 - probability)
        let mask = TensorStorage(uninitialized: count)
        let out = TensorStorage(uninitialized: count)
        for i in 0..<count {
            let kept: Float = generator.nextFloat() >= probability ? keepScale : 0
            mask.pointer[i] = kept
            out.pointer[i] = storage.pointer[i] * kept
        }
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            let dx = self.ensureGradient().pointer
            for i in 0..<self.count { dx[i] += dy.pointer[i] * mask.pointer[i] }
        }
    }
}
