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

/// `Σ a[i]`.
@inlinable @inline(__always)
public func sumOfElements(_ a: UnsafePointer<Float>, count: Int) -> Float {
    var accumulator = SIMD8<Float>()
    var i = 0
    let raw = UnsafeRawPointer(a)
    while i + 8 <= count {
        accumulator += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var total = accumulator.sum()
    while i < count {
        total += a[i]
        i += 1
    }
    return total
}

/// `max a[i]` (`-inf` for an empty row).
@inlinable @inline(__always)
public func maximumElement(_ a: UnsafePointer<Float>, count: Int) -> Float {
    var result = -Float.infinity
    var accumulator = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    let raw = UnsafeRawPointer(a)
    while i + 8 <= count {
        let values = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        accumulator.replace(with: values, where: values .> accumulator)
        i += 8
    }
    result = accumulator.max()
    while i < count {
        result = Swift.max(result, a[i])
        i += 1
    }
    return result
}
