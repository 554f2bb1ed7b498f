import CKernels

/// One AdamW update of `count` elements in place (the arithmetic of `NN.AdamW`, which supplies the scalars), with
/// the gradient `g = gradient · gradientScale` (a clipping factor; 1 leaves it as it is):
///
/// `m = β1 m + (1-β1) g`, `v = β2 v + (1-β2) g²`, `p = p · decay - stepSize · m / (√v / rootCorrection2 + ε)`
/// with `stepSize = lr / (1-β1ᵗ)`, `rootCorrection2 = √(1-β2ᵗ)` and `decay = 1 - lr·λ` (or 1).
/// With AVX2 or AVX-512 the C kernel runs; `.portable` the Swift loop below. All pointers: `[count]`.
public func adamWUpdate(
    parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
    firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>, count: Int,
    gradientScale: Float = 1, beta1: Float, beta2: Float, stepSize: Float, rootCorrection2: Float, epsilon: Float,
    decay: Float,
    instructions: VectorInstructions = .widest
) {
    if instructions != .portable {
        gpt_adamw(Int32(instructions.rawValue), p, g, m, v, count, gradientScale, beta1, beta2, stepSize,
                  rootCorrection2, epsilon, decay)
        return
    }
    var i = 0
    while i + 8 <= count {  // eight lanes at a time, then element by element
        let pp = UnsafeMutableRawPointer(p + i), gp = UnsafeRawPointer(g + i)
        let mp = UnsafeMutableRawPointer(m + i), vp = UnsafeMutableRawPointer(v + i)
        let gradient = gp.loadUnaligned(as: SIMD8<Float>.self) * gradientScale
        let first = beta1 * mp.loadUnaligned(as: SIMD8<Float>.self) + (1 - beta1) * gradient
        let second = beta2 * vp.loadUnaligned(as: SIMD8<Float>.self) + (1 - beta2) * gradient * gradient
        let update = stepSize * first / (second.squareRoot() / rootCorrection2 + epsilon)
        pp.storeBytes(of: pp.loadUnaligned(as: SIMD8<Float>.self) * decay - update, as: SIMD8<Float>.self)
        mp.storeBytes(of: first, as: SIMD8<Float>.self)
        vp.storeBytes(of: second, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        let gradient = g[i] * gradientScale
        p[i] *= decay
        m[i] = beta1 * m[i] + (1 - beta1) * gradient
        v[i] = beta2 * v[i] + (1 - beta2) * gradient * gradient
        p[i] -= stepSize * m[i] / (v[i].squareRoot() / rootCorrection2 + epsilon)
        i += 1
    }
}
