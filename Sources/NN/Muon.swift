import TensorModule

/// Muon (Keller Jordan, 2024; `torch.optim.Muon` in PyTorch 2.9+): momentum SGD whose update is orthogonalised by a
/// Newton-Schulz iteration, for the 2-D weight matrices inside the blocks (embeddings, the head and the gains stay
/// with ``AdamW``).
///
/// Per step, for a matrix `W` `[A, B]` with gradient `G` (times `gradientScale`, the clipping factor):
/// `buf = μ·buf + (1-μ)·G`; `U = (1-μ)·G + μ·buf` with Nesterov, else `buf`; `O = NS₅(U)`;
/// `W = W·(1 - lr·λ) - lr·√max(1, A/B)·O` (torch's "original" learning-rate adjustment).
/// `NS₅` normalises `U` by its Frobenius norm (at least ε), then five times `X = a·X + (b·XXᵀ + c·(XXᵀ)²)·X` with
/// PyTorch's coefficients (3.4445, -4.775, 2.0315), on the wide orientation of `U`. PyTorch runs it in bfloat16;
/// this one in fp32.
public final class Muon {
    public struct Settings: Codable, Equatable, Sendable {
        public var learningRate: Float = 0.02
        public var momentum: Float = 0.95
        public var nesterov = true
        public var weightDecay: Float = 0
        public var coefficients: [Float] = [3.4445, -4.775, 2.0315]
        public var steps = 5
        public var epsilon: Float = 1e-7

        public init(learningRate: Float = 0.02, momentum: Float = 0.95, nesterov: Bool = true, weightDecay: Float = 0) {
            (self.learningRate, self.momentum, self.nesterov, self.weightDecay) = (learningRate, momentum, nesterov, weightDecay)
        }
    }

    public var settings: Settings
    /// The matrices, each `[A, B]`.
    public let parameters: [Tensor]
    public let momentumBuffers: [TensorStorage]
    public var step = 0

    public init(parameters: [Tensor], settings: Settings = Settings()) {
        precondition(parameters.allSatisfy { $0.rank == 2 }, "Muon updates matrices only")
        self.parameters = parameters
        self.settings = settings
        momentumBuffers = parameters.map { TensorStorage(zeros: $0.count) }
    }

    public func update(gradientScale: Float = 1) {
        step += 1
        let s = settings
        let active = parameters.indices.filter { parameters[$0].gradientStorage != nil }
        // Matrices side by side, one per core, each orthogonalised on its own thread (small products split badly).
        parallelFor(active.count) { range in
            for item in range {
                let index = active[item], parameter = parameters[index]
                let rows = parameter.shape[0], columns = parameter.shape[1], count = parameter.count
                let g = parameter.gradientStorage!.pointer, buffer = momentumBuffers[index].pointer
                var update = [Float](repeating: 0, count: count)
                update.withUnsafeMutableBufferPointer { u in
                    for i in 0..<count {
                        let gradient = g[i] * gradientScale
                        buffer[i] += (1 - s.momentum) * (gradient - buffer[i])  // lerp(buf, grad, 1 - μ)
                        u[i] = s.nesterov ? gradient + s.momentum * (buffer[i] - gradient) : buffer[i]
                    }
                }
                let orthogonal = newtonSchulz(update, rows: rows, columns: columns, settings: s, serial: true)
                let adjusted = s.learningRate * max(1, Float(rows) / Float(columns)).squareRoot()
                let w = parameter.storage.pointer, decay = 1 - s.learningRate * s.weightDecay
                orthogonal.withUnsafeBufferPointer { o in for i in 0..<count { w[i] = w[i] * decay - adjusted * o[i] } }
            }
        }
    }
}

/// The Newton-Schulz orthogonalisation of `matrix` `[rows, columns]` (row-major) that ``Muon`` applies, in fp32.
/// With `serial`, its products run on the calling thread only. Each step is torch's two `addmm`s: the products'
/// `beta` adds `b·A` and `a·X`, so the loop allocates nothing.
public func newtonSchulz(_ matrix: [Float], rows: Int, columns: Int, settings: Muon.Settings, serial: Bool = false) -> [Float] {
    let product = serial ? serialGEMM : { gemm(transposeA: $0, transposeB: $1, m: $2, n: $3, k: $4, alpha: $5, a: $6, lda: $7, b: $8, ldb: $9, beta: $10, c: $11, ldc: $12) }
    let transposed = rows > columns, m = min(rows, columns), n = max(rows, columns)
    let (a, b, c) = (settings.coefficients[0], settings.coefficients[1], settings.coefficients[2])
    var x = [Float](repeating: 0, count: rows * columns)  // [m, n]
    var gram = [Float](repeating: 0, count: m * m), polynomial = [Float](repeating: 0, count: m * m)
    var next = [Float](repeating: 0, count: m * n)
    x.withUnsafeMutableBufferPointer { x in
        matrix.withUnsafeBufferPointer { g in
            for r in 0..<rows { for c in 0..<columns { x[transposed ? c * rows + r : r * columns + c] = g[r * columns + c] } }
        }
        let scale = 1 / max(dotProduct(x.baseAddress!, x.baseAddress!, count: x.count).squareRoot(), settings.epsilon)
        for i in x.indices { x[i] *= scale }
    }
    for _ in 0..<settings.steps {
        product(false, true, m, m, n, 1, x, n, x, n, 0, &gram, m)  // A = X Xᵀ
        polynomial.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: gram, count: m * m) }
        product(false, false, m, m, m, c, gram, m, gram, m, b, &polynomial, m)  // B = b·A + c·A²
        next.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: x, count: m * n) }
        product(false, false, m, n, m, 1, polynomial, m, x, n, a, &next, n)  // X = a·X + B X
        swap(&x, &next)
    }
    guard transposed else { return x }
    var out = [Float](repeating: 0, count: rows * columns)
    out.withUnsafeMutableBufferPointer { out in
        x.withUnsafeBufferPointer { x in for r in 0..<rows { for c in 0..<columns { out[r * columns + c] = x[c * rows + r] } } }
    }
    return out
}
