import CKernels
import Foundation  // erff, expf

// Pointwise activations. Each backward reads the forward's input, which the closure keeps alive.

extension Tensor {
    // MARK: - ReLU

    /// `max(0, x)`, elementwise.
    public func relu() -> Tensor {
        let out = TensorStorage(uninitialized: count)
        reluForward(out: out.pointer, input: storage.pointer, count: count)
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            let (gradient, fresh) = self.gradientForWriting()
            reluBackward(
                inputGradient: gradient.pointer, outputGradient: dy.pointer, input: self.storage.pointer,
                count: self.count, accumulate: !fresh)
        }
    }

    // MARK: - ReLU²

    /// `max(0, x)²`, elementwise (modded-nanogpt's and nanochat's feed-forward).
    public func reluSquared() -> Tensor {
        pointwise(forward: reluSquaredForward, backward: reluSquaredBackward)
    }

    // MARK: - GELU

    /// GELU, exact: `x Φ(x) = 0.5 x (1 + erf(x / √2))`, elementwise (PyTorch's `nn.GELU()`, which nanoGPT uses).
    public func gelu() -> Tensor {
        pointwise(forward: geluForward, backward: geluBackward)
    }

    /// A pointwise op from its raw forward and (accumulating) backward loops.
    func pointwise(
        forward: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void,
        backward: @escaping (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Void
    ) -> Tensor {
        let out = TensorStorage(uninitialized: count)
        forward(out.pointer, storage.pointer, count)
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            backward(self.ensureGradient().pointer, dy.pointer, self.storage.pointer, self.count)
        }
    }

    /// GELU in GPT-2's tanh form: `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`, elementwise.
    public func geluTanh() -> Tensor {
        let out = TensorStorage(uninitialized: count)
        geluTanhForward(out: out.pointer, input: storage.pointer, count: count)
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            geluTanhBackward(
                inputGradient: self.ensureGradient().pointer, outputGradient: dy.pointer,
                input: self.storage.pointer, count: self.count)
        }
    }
}

/// `out[i] = max(0, input[i])`.
public func reluForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    parallelFor(count, minimumChunk: 32_768) { range in
        var i = range.lowerBound
        let zero = SIMD8<Float>()
        while i + 8 <= range.upperBound {
            let v = UnsafeRawPointer(x.base + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(o.base + i).storeBytes(of: v.replacing(with: zero, where: v .< zero), as: SIMD8<Float>.self)
            i += 8
        }
        while i < range.upperBound {
            o.base[i] = max(0, x.base[i])
            i += 1
        }
    }
}

/// `inputGradient[i] += input[i] > 0 ? outputGradient[i] : 0` (`=` instead when `accumulate` is false).
public func reluBackward(
    inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
    input: UnsafePointer<Float>, count: Int, accumulate: Bool = true
) {
    let dx = SendablePointer(inputGradient), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    let dy = SendablePointer(UnsafeMutablePointer(mutating: outputGradient))
    parallelFor(count, minimumChunk: 32_768) { range in
        var i = range.lowerBound
        let zero = SIMD8<Float>()
        while i + 8 <= range.upperBound {
            let v = UnsafeRawPointer(x.base + i).loadUnaligned(as: SIMD8<Float>.self)
            let g = UnsafeRawPointer(dy.base + i).loadUnaligned(as: SIMD8<Float>.self)
            let target = UnsafeMutableRawPointer(dx.base + i)
            let previous = accumulate ? target.loadUnaligned(as: SIMD8<Float>.self) : zero
            target.storeBytes(of: previous + g.replacing(with: zero, where: v .<= zero), as: SIMD8<Float>.self)
            i += 8
        }
        while i < range.upperBound {
            dx.base[i] = (accumulate ? dx.base[i] : 0) + (x.base[i] > 0 ? dy.base[i] : 0)
            i += 1
        }
    }
}

private let geluScale: Float = 0.797_884_56  // √(2/π)

/// `out[i] = gelu_tanh(input[i])`: GELU in the tanh approximation (the C kernel `gpt_gelu_tanh` where the
/// settings' instructions are AVX2 or AVX-512).
public func geluTanhForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    let level = Int32(KernelSettings.current.instructions.rawValue)
    parallelFor(count, minimumChunk: 16_384) { range in
        guard level == 0 else {
            gpt_gelu_tanh(level, o.base + range.lowerBound, x.base + range.lowerBound, range.count)
            return
        }
        for i in range {
            let v = x.base[i]
            o.base[i] = 0.5 * v * (1 + _tanhf(geluScale * (v + 0.044715 * v * v * v)))
        }
    }
}

/// `inputGradient[i] += gelu_tanh'(input[i]) * outputGradient[i]`.
public func geluTanhBackward(
    inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
    input: UnsafePointer<Float>, count: Int
) {
    let dx = SendablePointer(inputGradient), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    let dy = SendablePointer(UnsafeMutablePointer(mutating: outputGradient))
    parallelFor(count, minimumChunk: 16_384) { range in
        for i in range {
            let v = x.base[i]
            let inner = geluScale * (v + 0.044715 * v * v * v)
            let t = _tanhf(inner)
            let sech2 = 1 - t * t
            let local = 0.5 * (1 + t) + 0.5 * v * sech2 * geluScale * (1 + 3 * 0.044715 * v * v)
            dx.base[i] += local * dy.base[i]
        }
    }
}

/// `out[i] = max(0, input[i])²`.
public func reluSquaredForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    parallelFor(count, minimumChunk: 32_768) { range in
        for i in range {
            let v = max(0, x.base[i])
            o.base[i] = v * v
        }
    }
}

/// `inputGradient[i] += 2 max(0, input[i]) * outputGradient[i]`.
public func reluSquaredBackward(
    inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int
) {
    let dx = SendablePointer(inputGradient), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    let dy = SendablePointer(UnsafeMutablePointer(mutating: outputGradient))
    parallelFor(count, minimumChunk: 32_768) { range in
        for i in range { dx.base[i] += 2 * max(0, x.base[i]) * dy.base[i] }
    }
}

private let inverseSquareRootOfTwo: Float = 0.707_106_78, inverseSquareRootOfTwoPi: Float = 0.398_942_28

/// `out[i] = 0.5 input[i] (1 + erf(input[i] / √2))`.
public func geluForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    parallelFor(count, minimumChunk: 16_384) { range in
        for i in range {
            let v = x.base[i]
            o.base[i] = 0.5 * v * (1 + erff(v * inverseSquareRootOfTwo))
        }
    }
}

/// `inputGradient[i] += (Φ(x) + x φ(x)) * outputGradient[i]`, with Φ and φ the standard normal CDF and density.
public func geluBackward(
    inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int
) {
    let dx = SendablePointer(inputGradient), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    let dy = SendablePointer(UnsafeMutablePointer(mutating: outputGradient))
    parallelFor(count, minimumChunk: 16_384) { range in
        for i in range {
            let v = x.base[i]
            let cdf = 0.5 * (1 + erff(v * inverseSquareRootOfTwo)), density = inverseSquareRootOfTwoPi * expf(-0.5 * v * v)
            dx.base[i] += (cdf + v * density) * dy.base[i]
        }
    }
}
