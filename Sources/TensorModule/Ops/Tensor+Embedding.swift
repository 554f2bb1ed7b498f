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
        // Fixed-size chunks, each with its own seed drawn in order: parallel, yet the same masks on any core count.
        let chunk = 65_536, chunks = (count + chunk - 1) / chunk
        let seeds = (0..<chunks).map { _ in generator.next() }
        let m = SendablePointer(mask.pointer), o = SendablePointer(out.pointer), x = SendablePointer(storage.pointer)
        let total = count
        parallelFor(chunks) { range in
            for c in range {
                var local = SeededGenerator(seed: seeds[c])
                for i in (c * chunk)..<min(total, (c + 1) * chunk) {
                    let kept: Float = local.nextFloat() >= probability ? keepScale : 0
                    m.base[i] = kept
                    o.base[i] = x.base[i] * kept
                }
            }
        }
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            // `mask` (not a pointer into it) is captured, so the closure keeps it alive.
            let dx = SendablePointer(self.ensureGradient().pointer), g = SendablePointer(dy.pointer)
            let kept = SendablePointer(mask.pointer)
            parallelFor(total, minimumChunk: chunk) { range in
                for i in range { dx.base[i] += g.base[i] * kept.base[i] }
            }
        }
    }
}
