/// A seeded, reproducible random number generator (xoshiro256**, seeded through SplitMix64).
///
/// The same seed gives the same stream on every platform, so the same training run gives the same losses to the
/// last bit. Its ``state`` can be saved and restored to resume a run exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    /// The four 64-bit words of xoshiro256** state.
    public var state: [UInt64]

    /// Creates a generator whose stream depends only on `seed`.
    public init(seed: UInt64) {
        var mix = seed
        var words: [UInt64] = []
        for _ in 0..<4 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        state = words
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state[1] &* 5, by: 7) &* 9
        let shifted = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= shifted
        state[3] = rotateLeft(state[3], by: 45)
        return result
    }

    private func rotateLeft(_ x: UInt64, by k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform sample in `[0, 1)` with 24 random bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// A uniform sample in `[0, 1)` with 53 random bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// A uniform integer in `0..<upperBound`.
    public mutating func nextInt(below upperBound: Int) -> Int {
        Int(next(upperBound: UInt64(upperBound)))
    }

    /// Fills `buffer` with normal samples (Box-Muller, both outputs used).
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Float, std: Float) {
        var i = 0
        while i < buffer.count {
            let u1 = max(nextDouble(), 1e-300)
            let u2 = nextDouble()
            let radius = (-2 * _log(u1)).squareRoot()
            let angle = 2 * Double.pi * u2
            buffer[i] = mean + std * Float(radius * _cos(angle))
            if i + 1 < buffer.count { buffer[i + 1] = mean + std * Float(radius * _sin(angle)) }
            i += 2
        }
    }
}
