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
///
/// Three 2026 refinements, each off by default (the speedruns' `muon_step_fused`, modded-nanogpt and nanochat):
/// - ``Settings/polarExpress``: Polar Express (Amsel et al., 2025) normalises `U` by `1.02·‖U‖ + 10⁻⁶` and takes a
///   different `(a, b, c)` at each of the five steps (``polarExpressCoefficients``), reaching singular values near 1
///   sooner than one fixed triple.
/// - ``Settings/beta2`` > 0: NorMuon (2025) keeps `v`, an exponential average (rate `1 - β₂`) of the mean square of
///   `O` along its longer side (one value per row of a tall or square `O`, per column of a wide one), divides `O`
///   by `√v` and rescales it to its Frobenius norm before: each neuron's update gets the same size.
/// - ``Settings/cautiousWeightDecay``: the decay `lr·λ·W` applies only where `O` and `W` share a sign
///   (`W = W - lr'·O - lr'·λ·W·[O·W ≥ 0]` with `lr' = lr·√max(1, A/B)`, as the speedruns have it), so it never
///   works against the update.
public final class Muon {
    public struct Settings: Codable, Equatable, Sendable {
        public var learningRate: Float = 0.02
        public var momentum: Float = 0.95
        public var nesterov = true
        public var weightDecay: Float = 0
        public var coefficients: [Float] = [3.4445, -4.775, 2.0315]
        public var steps = 5
        public var epsilon: Float = 1e-7
        /// Polar Express's normalisation and per-step coefficients instead of `coefficients`.
        public var polarExpress = false
        /// NorMuon's second-moment rate `β₂`; 0 turns it off.
        public var beta2: Float = 0
        /// Decay only the weights whose sign the update shares.
        public var cautiousWeightDecay = false

        public init(learningRate: Float = 0.02, momentum: Float = 0.95, nesterov: Bool = true, weightDecay: Float = 0) {
            (self.learningRate, self.momentum, self.nesterov, self.weightDecay) = (learningRate, momentum, nesterov, weightDecay)
        }
    }

    public var settings: Settings
    /// The matrices, each `[A, B]`.
    public let parameters: [Tensor]
    public let momentumBuffers: [TensorStorage]
    /// NorMuon's `v` of each matrix `[A, B]`: `[A]` when A ≥ B, else `[B]` (zeros while ``Settings/beta2`` is 0).
    public let secondMomentBuffers: [TensorStorage]
    public var step = 0

    /// Polar Express's `(a, b, c)` for each of its five steps (computed for five steps, a safety factor 0.02 and a
    /// cushion 2; the values modded-nanogpt and nanochat use).
    public static let polarExpressCoefficients: [[Float]] = [
        [8.156554524902461, -22.48329292557795, 15.878769915207462],
        [4.042929935166739, -2.808917465908714, 0.5000178451051316],
        [3.8916678022926607, -2.772484153217685, 0.5060648178503393],
        [3.285753657755655, -2.3681294933425376, 0.46449024233003106],
        [2.3465413258596377, -1.7097828382687081, 0.42323551169305323],
    ]

    public init(parameters: [Tensor], settings: Settings = Settings()) {
        precondition(parameters.allSatisfy { $0.rank == 2 }, "Muon updates matrices only")
        self.parameters = parameters
        self.settings = settings
        momentumBuffers = parameters.map { TensorStorage(zeros: $0.count) }
        secondMomentBuffers = parameters.map { TensorStorage(zeros: max($0.shape[0], $0.shape[1])) }
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
                var orthogonal = newtonSchulz(update, rows: rows, columns: columns, settings: s, serial: true)
                if s.beta2 > 0 {
                    equaliseNeurons(&orthogonal, rows: rows, columns: columns, beta2: s.beta2,
                                    moments: secondMomentBuffers[index].pointer)
                }
                let adjusted = s.learningRate * max(1, Float(rows) / Float(columns)).squareRoot()
                let w = parameter.storage.pointer, rate = s.learningRate * s.weightDecay
                orthogonal.withUnsafeBufferPointer { o in
                    if s.cautiousWeightDecay {
                        let decay = adjusted * s.weightDecay  // the speedruns decay at the adjusted rate
                        for i in 0..<count { w[i] -= adjusted * o[i] + (o[i] * w[i] >= 0 ? decay * w[i] : 0) }
                    } else {
                        for i in 0..<count { w[i] = w[i] * (1 - rate) - adjusted * o[i] }
                    }
                }
            }
        }
    }
}

/// NorMuon's step on an orthogonalised update `o` `[rows, columns]`: the mean square of each row (of each column
/// when `columns > rows`) averaged into `moments` at rate `1 - beta2`, `o` divided by its root, then scaled back to
/// the Frobenius norm it had.
func equaliseNeurons(_ o: inout [Float], rows: Int, columns: Int, beta2: Float, moments: UnsafeMutablePointer<Float>) {
    let perRow = rows >= columns, count = perRow ? rows : columns, length = perRow ? columns : rows
    var meanSquares = [Float](repeating: 0, count: count)
    for r in 0..<rows { for c in 0..<columns { meanSquares[perRow ? r : c] += o[r * columns + c] * o[r * columns + c] } }
    var norm: Float = 0, scaledNorm: Float = 0
    var scales = [Float](repeating: 0, count: count)
    for j in 0..<count {
        meanSquares[j] /= Float(length)
        moments[j] += (1 - beta2) * (meanSquares[j] - moments[j])  // lerp(v, mean square, 1 - β₂)
        scales[j] = 1 / max(moments[j], 1e-10).squareRoot()
        norm += meanSquares[j] * Float(length)
        scaledNorm += meanSquares[j] * Float(length) * scales[j] * scales[j]
    }
    let restore = norm.squareRoot() / max(scaledNorm.squareRoot(), 1e-10)
    for r in 0..<rows { for c in 0..<columns { o[r * columns + c] *= scales[perRow ? r : c] * restore } }
}

/// The Newton-Schulz orthogonalisation of `matrix` `[rows, columns]` (row-major) that ``Muon`` applies, in fp32.
/// With `serial`, its products run on the calling thread only. Each step is torch's two `addmm`s: the products'
/// `beta` adds `b·A` and `a·X`, so the loop allocates nothing.
public func newtonSchulz(_ matrix: [Float], rows: Int, columns: Int, settings: Muon.Settings, serial: Bool = false) -> [Float] {
    let product = serial ? serialGEMM : { gemm(transposeA: $0, transposeB: $1, m: $2, n: $3, k: $4, alpha: $5, a: $6, lda: $7, b: $8, ldb: $9, beta: $10, c: $11, ldc: $12) }
    let transposed = rows > columns, m = min(rows, columns), n = max(rows, columns)
    var x = [Float](repeating: 0, count: rows * columns)  // [m, n]
    var gram = [Float](repeating: 0, count: m * m), polynomial = [Float](repeating: 0, count: m * m)
    var next = [Float](repeating: 0, count: m * n)
    x.withUnsafeMutableBufferPointer { x in
        matrix.withUnsafeBufferPointer { g in
            for r in 0..<rows { for c in 0..<columns { x[transposed ? c * rows + r : r * columns + c] = g[r * columns + c] } }
        }
        let norm = dotProduct(x.baseAddress!, x.baseAddress!, count: x.count).squareRoot()
        let scale = settings.polarExpress ? 1 / (norm * 1.02 + 1e-6) : 1 / max(norm, settings.epsilon)
        for i in x.indices { x[i] *= scale }
    }
    for step in 0..<settings.steps {
        let table = Muon.polarExpressCoefficients
        let abc = settings.polarExpress ? table[min(step, table.count - 1)] : settings.coefficients
        let (a, b, c) = (abc[0], abc[1], abc[2])
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
