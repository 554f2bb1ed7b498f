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

    // MARK: - GELU

    /// GELU in GPT-2's tanh form: `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`, elementwise.
    public func gelu() -> Tensor {
        let out = TensorStorage(uninitialized: count)
        geluForward(out: out.pointer, input: storage.pointer, count: count)
        return Tensor(shape: shape, storage: out, parents: [self]) { dy in
            geluBackward(
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

/// `out[i] = gelu(input[i])`, tanh approximation.
public func geluForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    parallelFor(count, minimumChunk: 16_384) { range in
        for i in range {
            let v = x.base[i]
            o.base[i] = 0.5 * v * (1 + _tanhf(geluScale * (v + 0.044715 * v * v * v)))
        }
    }
}

/// `inputGradient[i] += gelu'(input[i]) * outputGradient[i]`.
public func geluBackward(
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
