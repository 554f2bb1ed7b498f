// The causal mask of decoder attention.

extension Tensor {
    /// Sets every score above the diagonal of the last two dimensions (`[..., T, T]`) to `-inf`, so that after a
    /// softmax position `t` attends only to positions `0...t` (the lecture's `masked_fill(tril == 0, -inf)`).
    public func causallyMasked() -> Tensor {
        let t = shape[rank - 1]
        precondition(shape[rank - 2] == t, "causallyMasked needs [..., T, T], got \(shape)")
        let out = TensorStorage(zeros: count)
        out.pointer.update(from: storage.pointer, count: count)
        let matrices = count / (t * t)
        for m in 0..<matrices {
            for i in 0..<t {
                let row = out.pointer + (m * t + i) * t
                for j in (i + 1)..<max(i + 1, t) { row[j] = -.infinity }
            }
        }
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            let dx = self.ensureGradient().pointer
            for m in 0..<matrices {
                for i in 0..<t {
                    for j in 0...i { dx[(m * t + i) * t + j] += dy.pointer[(m * t + i) * t + j] }
                }
            }
        }
    }
}
