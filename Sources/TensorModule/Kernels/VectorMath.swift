import CKernels

// Row reductions with explicit SIMD accumulators: Swift does not reassociate floating-point sums, so a plain
// `for` loop over a row never vectorises. Each helper states its contract on `count` elements.

/// `Σ a[i] * b[i]`.
@inlinable @inline(__always)
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var accumulator = SIMD8<Float>()
    var i = 0
    let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
    while i + 8 <= count {
        accumulator += rawA.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var total = accumulator.sum()
    while i < count {
        total += a[i] * b[i]
        i += 1
    }
    return total
}

/// `out[j] = exp(input[j] - shift)` for `j < count`, returning `Σ out[j]`: the numerators and the denominator of a
/// softmax row (`shift` its maximum). `out` may equal `input`. With AVX2 or AVX-512 a vectorized polynomial runs
/// (within 2 ulp of `expf`; arguments below -87.3 give 0); `.portable` calls `expf` per element.
@discardableResult
public func exponentials(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int, shift: Float,
    instructions: VectorInstructions = .widest
) -> Float {
    if instructions != .portable {
        return gpt_exp_shifted(Int32(instructions.rawValue), out, input, count, shift)
    }
    var total: Float = 0
    for j in 0..<count {
        out[j] = _expf(input[j] - shift)
        total += out[j]
    }
    return total
}

/// `target[i] += source[i]` for `count` elements, split across cores when large.
func addInPlace(_ target: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, count: Int) {
    let t = SendablePointer(target), s = SendablePointer(UnsafeMutablePointer(mutating: source))
    parallelFor(count, minimumChunk: 32_768) { range in
        let start = range.lowerBound
        addScaled(into: t.base + start, t.base + start, s.base + start, count: range.count)
    }
}

/// `out[i] = base[i] + weight * source[i]` (or `weight * source[i]` without a `base`; `base` may be `out`) for
/// `i < count`, eight lanes at a time: a plain loop stays scalar, as the compiler cannot rule out that `out`
/// overlaps the inputs. With `weight` 1 the sum is exactly `base[i] + source[i]`.
@inline(__always)
func addScaled(
    into out: UnsafeMutablePointer<Float>, _ base: UnsafePointer<Float>?, _ source: UnsafePointer<Float>,
    weight: Float = 1, count: Int
) {
    func load(_ pointer: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(pointer + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    var i = 0
    if let base {
        while i + 8 <= count {
            let value = load(base, i) + weight * load(source, i)
            UnsafeMutableRawPointer(out + i).storeBytes(of: value, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            out[i] = base[i] + weight * source[i]
            i += 1
        }
    } else {
        while i + 8 <= count {
            UnsafeMutableRawPointer(out + i).storeBytes(of: weight * load(source, i), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            out[i] = weight * source[i]
            i += 1
        }
    }
}
