#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import TensorModule

/// AdamW with PyTorch's defaults and update order (`torch.optim.AdamW`): decoupled weight decay applied first,
/// then bias-corrected first and second moments.
///
/// For each parameter `p` with gradient `g` at step `t`:
/// `p -= lr·λ·p`; `m = β1 m + (1-β1) g`; `v = β2 v + (1-β2) g²`;
/// `p -= lr · (m / (1-β1ᵗ)) / (√(v / (1-β2ᵗ)) + ε)`.
public final class AdamW {
    public struct Settings: Codable, Equatable, Sendable {
        public var learningRate: Float = 1e-3
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        public var weightDecay: Float = 0.01
        public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                    weightDecay: Float = 0.01) {
            self.learningRate = learningRate
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    public var settings: Settings
    /// The parameters, and whether weight decay applies to each (nanoGPT decays 2-D tensors only).
    public let parameters: [(tensor: Tensor, decays: Bool)]
    /// First and second moments, one buffer per parameter.
    public let firstMoments: [TensorStorage]
    public let secondMoments: [TensorStorage]
    /// Steps taken so far.
    public var step = 0

    /// - Parameter decayAll: decay every parameter (PyTorch's default) or only those with two or more dimensions.
    public init(parameters: [Tensor], settings: Settings = Settings(), decayAll: Bool = true) {
        self.settings = settings
        self.parameters = parameters.map { ($0, decayAll || $0.rank >= 2) }
        firstMoments = parameters.map { TensorStorage(zeros: $0.count) }
        secondMoments = parameters.map { TensorStorage(zeros: $0.count) }
    }

    /// Applies one update with the current gradients (parameters without a gradient are skipped, as PyTorch), each
    /// multiplied by `gradientScale` on the way in (``clippingScale(norm:maximumNorm:)``'s factor: clipping without
    /// a pass of its own; the default 1 leaves them as they are).
    public func update(gradientScale: Float = 1) {
        step += 1
        let s = settings
        let correction1 = 1 - pow(s.beta1, Float(step)), correction2 = 1 - pow(s.beta2, Float(step))
        let active = parameters.indices.filter { parameters[$0].tensor.gradientStorage != nil }
        let stepSize = s.learningRate / correction1, rootCorrection2 = correction2.squareRoot()
        // All parameters' elements in pieces, shared by the cores (most tensors are too small to split alone).
        parallelForPieces(counts: active.map { parameters[$0].tensor.count }, pieceSize: 16_384) { _, item, range in
            let index = active[item], parameter = parameters[index]
            let offset = range.lowerBound
            adamWUpdate(
                parameter: parameter.tensor.storage.pointer + offset,
                gradient: parameter.tensor.gradientStorage!.pointer + offset,
                firstMoment: firstMoments[index].pointer + offset, secondMoment: secondMoments[index].pointer + offset,
                count: range.count, gradientScale: gradientScale, beta1: s.beta1, beta2: s.beta2, stepSize: stepSize,
                rootCorrection2: rootCorrection2, epsilon: s.epsilon,
                decay: parameter.decays ? 1 - s.learningRate * s.weightDecay : 1)
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `maximumNorm` (PyTorch's `clip_grad_norm_`).
/// Returns the norm before clipping (non-finite when any gradient is).
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maximumNorm: Float) -> Float {
    let norm = gradientNorm(parameters)
    let scale = clippingScale(norm: norm, maximumNorm: maximumNorm)
    if scale < 1 {
        let gradients = parameters.compactMap(\.gradientStorage)
        parallelForPieces(counts: gradients.map(\.count), pieceSize: 16_384) { _, item, range in
            let g = gradients[item].pointer
            for i in range { g[i] *= scale }
        }
    }
    return norm
}

/// The global L2 norm of all the parameters' gradients (those that have one), summed per fixed piece in Double and
/// the pieces in order: the same on any thread count.
public func gradientNorm(_ parameters: [Tensor]) -> Float {
    let gradients = parameters.compactMap(\.gradientStorage), counts = gradients.map(\.count)
    let pieceSize = 16_384
    let squares = UnsafeMutableBufferPointer<Double>.allocate(capacity: pieceCount(counts, pieceSize: pieceSize))
    defer { squares.deallocate() }
    parallelForPieces(counts: counts, pieceSize: pieceSize) { piece, item, range in
        let start = gradients[item].pointer + range.lowerBound
        squares[piece] = Double(dotProduct(start, start, count: range.count))
    }
    return Float(squares.reduce(0, +).squareRoot())
}

/// The factor that `clip_grad_norm_` multiplies gradients by: `maximumNorm / (norm + 1e-6)` when that is below 1,
/// else 1 (no clipping).
public func clippingScale(norm: Float, maximumNorm: Float) -> Float {
    let scale = maximumNorm / (norm + 1e-6)
    return scale < 1 ? scale : 1
}

/// The learning rate at `step`: linear warm-up over `warmupSteps`, then cosine decay to `minimum` at `decaySteps`
/// (nanoGPT's `get_lr`). Constant `maximum` when `decaySteps == 0`.
public func learningRate(step: Int, maximum: Float, minimum: Float, warmupSteps: Int, decaySteps: Int) -> Float {
    guard decaySteps > 0 else { return maximum }
    if step < warmupSteps { return maximum * Float(step + 1) / Float(warmupSteps) }
    if step > decaySteps { return minimum }
    let ratio = Float(step - warmupSteps) / Float(max(1, decaySteps - warmupSteps))
    let coefficient = 0.5 * (1 + cos(Float.pi * ratio))
    return minimum + coefficient * (maximum - minimum)
}
