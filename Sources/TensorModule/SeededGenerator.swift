/// A seeded, reproducible random number generator (xoshiro256**, seeded through SplitMix64).
///
/// The same seed gives the same stream on every platform, so the same training run gives the same losses to the
/// last bit. Its ``state`` can be saved and restored to resume a run exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    // Four stored words, not an array: `next()` runs once per dropout element, and an array's bounds and
    // uniqueness checks made it several times slower.
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The four 64-bit words of xoshiro256** state (what a checkpoint saves as `"state"`).
    public var state: [UInt64] {
        get { [s0, s1, s2, s3] }
        set {
            precondition(newValue.count == 4, "xoshiro256** state is four words")
            (s0, s1, s2, s3) = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    private enum CodingKeys: String, CodingKey { case state }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let words = try container.decode([UInt64].self, forKey: .state)
        guard words.count == 4 else {
            throw DecodingError.dataCorruptedError(
                forKey: .state, in: container, debugDescription: "a generator state has 4 words, found \(words.count)")
        }
        (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(state, forKey: .state)
    }

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
        (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
    }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = Self.rotateLeft(s1 &* 5, by: 7) &* 9
        let shifted = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= shifted
        s3 = Self.rotateLeft(s3, by: 45)
        return result
    }

    @inlinable @inline(__always)
    static func rotateLeft(_ x: UInt64, by k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform sample in `[0, 1)` with 24 random bits.
    @inlinable @inline(__always)
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// A uniform sample in `[0, 1)` with 53 random bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// A uniform integer in `0..<upperBound`.
    public mutating func nextInt(below upperBound: Int) -> Int {
        Int(next(upperBound: UInt64(upperBound)))
    }

    /// Whether ``Tensor/normal(_:mean:std:generator:requiresGrad:)`` and ``Tensor/uniform(_:low:high:generator:requiresGrad:)``
    /// leave their zeros: for building a model whose weights are loaded next (``forLoading``), where drawing the
    /// samples of GPT-2 124M would take seconds for nothing.
    public var skipsInitialization = false

    /// A generator (seed 0) whose tensors stay zero until a checkpoint's weights are copied in.
    public static var forLoading: SeededGenerator {
        var generator = SeededGenerator(seed: 0)
        generator.skipsInitialization = true
        return generator
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
