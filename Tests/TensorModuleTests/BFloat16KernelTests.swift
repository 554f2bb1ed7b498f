import CKernels
import Foundation
import Testing
import TensorModule
import _TestSupport

/// Every bfloat16 kernel that runs here (the written-out AVX512-BF16 and AMX copies always; AVX2, AVX512-BF16 and
/// AMX where the CPU has them) against the naive product of the same bfloat16-rounded operands.
///
/// The tolerance is the worst case of fp32 summation: each of the k additions (and the alpha, beta and bias
/// steps) rounds once, by at most 2⁻²⁴ of the running magnitude, so the error is at most (k + 3) 2⁻²⁴ times
/// |alpha| Σ|a b| + |beta c| + |bias| (the products of two bfloat16 values are exact in fp32).
@Suite struct BFloat16KernelTests {
    /// Partial tiles of every kernel (12, 2 and 32 rows, 32 columns, 32 of depth), several 96-row blocks, an odd
    /// panel count.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (37, 45, 70), (13, 33, 600), (200, 17, 33), (5, 100, 257), (96, 64, 64),
    ]

    static let kernels = BFloat16Kernel.allCases.filter(\.isAvailable)

    /// `op(X)` of `rows x columns` as rounded bfloat16 values (`X` stored `[columns, rows]` when transposed).
    func rounded(_ x: [Float], rows: Int, columns: Int, transposed: Bool) -> [Float] {
        (0..<rows * columns).map { index in
            let (i, j) = (index / columns, index % columns)
            let value = transposed ? x[j * rows + i] : x[i * columns + j]
            return Float(bitPattern: UInt32(gpt_bf16_round(value)) << 16)
        }
    }

    func check(_ kernel: BFloat16Kernel, m: Int, n: Int, k: Int, ta: Bool, tb: Bool, alpha: Float, beta: Float,
               bias withBias: Bool, relu: Bool, threads: Int = 1) {
        let a = randomTensor([m * k], seed: UInt64(m + 3 * k), requiresGrad: false).values
        let b = randomTensor([k * n], seed: UInt64(n + 5 * k), requiresGrad: false).values
        let bias = randomTensor([n], seed: 12, requiresGrad: false).values
        let start = randomTensor([m * n], seed: 11, requiresGrad: false).values
        let ra = rounded(a, rows: m, columns: k, transposed: ta), rb = rounded(b, rows: k, columns: n, transposed: tb)
        var actual = start
        let done = actual.withUnsafeMutableBufferPointer { c in
            bfloat16GEMM(kernel: kernel, transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: alpha, a: a,
                         lda: ta ? m : k, b: b, ldb: tb ? k : n, beta: beta, c: c.baseAddress!, ldc: n,
                         bias: withBias ? bias : nil, relu: relu, threads: threads)
        }
        #expect(done)
        var worst: (error: Double, bound: Double, index: Int) = (0, 1, -1)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    sum += Double(ra[i * k + p]) * Double(rb[p * n + j])
                    magnitude += abs(Double(ra[i * k + p]) * Double(rb[p * n + j]))
                }
                let extra = Double(beta) * Double(start[i * n + j]) + (withBias ? Double(bias[j]) : 0)
                var expected = Double(alpha) * sum + extra
                if relu { expected = max(0, expected) }
                let bound = Double(k + 3) * 0x1p-24 * (abs(Double(alpha)) * magnitude + abs(extra)) + 1e-30
                let error = abs(Double(actual[i * n + j]) - expected)
                if error / bound > worst.error / worst.bound { worst = (error, bound, i * n + j) }
            }
        }
        #expect(worst.error <= worst.bound,
                "\(kernel.name) m=\(m) n=\(n) k=\(k) ta=\(ta) tb=\(tb): error \(worst.error) > \(worst.bound) at \(worst.index)")
    }

    @Test(arguments: kernels)
    func kernelMatchesNaiveProductOfRoundedOperands(kernel: BFloat16Kernel) {
        for (m, n, k) in Self.shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                check(kernel, m: m, n: n, k: k, ta: ta, tb: tb, alpha: 1, beta: 0, bias: false, relu: false)
            }
        }
    }

    /// alpha, beta (C read), the bias and the ReLU of a linear layer, with depth over several blocks of every kernel
    /// (1,024 and 2,048: beta and the bias belong to the first block, the ReLU to the last), split across threads.
    @Test(arguments: kernels)
    func epilogueAndThreads(kernel: BFloat16Kernel) {
        for (m, n, k) in [(37, 45, 70), (13, 33, 600), (200, 70, 40), (20, 40, 2100)] {
            check(kernel, m: m, n: n, k: k, ta: false, tb: true, alpha: 0.5, beta: 0.25, bias: true, relu: true,
                  threads: 2)
            check(kernel, m: m, n: n, k: k, ta: true, tb: false, alpha: -2, beta: 1, bias: false, relu: false,
                  threads: 2)
            // Whole tiles summed in C itself over every block of depth, with a linear layer's bias and ReLU too.
            check(kernel, m: m, n: n, k: k, ta: false, tb: false, alpha: 1, beta: 1, bias: false, relu: false,
                  threads: 2)
            check(kernel, m: m, n: n, k: k, ta: false, tb: true, alpha: 1, beta: 0, bias: true, relu: true)
            check(kernel, m: m, n: n, k: k, ta: true, tb: false, alpha: 1, beta: 1, bias: true, relu: false)
        }
    }

    /// The AVX2 kernel adds the same exact products in the order the Intel manual gives for vdpbf16ps (odd pair
    /// element first, one FMA each), so its sums equal the written-out vdpbf16ps's bit for bit. (The hardware
    /// kernel is held to the fp32 bound above only: it flushes denormals, and its internal order is the CPU's.)
    @Test(.enabled(if: BFloat16Kernel.avx2.isAvailable, "needs AVX2"))
    func dotKernelsAgreeBitForBit() {
        let kernels = [BFloat16Kernel.emulatedAVX512BF16, .avx2]
        let (m, n, k) = (29, 70, 300)
        let a = randomTensor([m * k], seed: 1, requiresGrad: false).values
        let b = randomTensor([k * n], seed: 2, requiresGrad: false).values
        let results = kernels.map { kernel in
            var c = [Float](repeating: 0, count: m * n)
            c.withUnsafeMutableBufferPointer { c in
                _ = bfloat16GEMM(kernel: kernel, transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
                                 a: a, lda: k, b: b, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
            }
            return c.map(\.bitPattern)
        }
        for (kernel, result) in zip(kernels.dropFirst(), results.dropFirst()) {
            #expect(result == results[0], "\(kernel.name) differs from the written-out AVX512-BF16 kernel")
        }
    }

    /// Rounding: ties go to the even neighbour, infinities stay, NaN stays NaN, and a packed operand holds exactly
    /// the rounded values in the documented VNNI positions.
    @Test func packingLayout() {
        #expect(gpt_bf16_round(1 + 0x1p-8) == 0x3F80)  // a tie between 0x3F80 and 0x3F81: to even
        #expect(gpt_bf16_round(1 + 0x1p-8 + 0x1p-20) == 0x3F81)
        #expect(gpt_bf16_round(1 + 0x1p-7 + 0x1p-8) == 0x3F82)  // a tie above an odd pattern: up
        #expect(gpt_bf16_round(.infinity) == 0x7F80)
        #expect(gpt_bf16_round(-.greatestFiniteMagnitude) == 0xFF80)  // rounds up to -inf, as torch does
        #expect(Float(bitPattern: UInt32(gpt_bf16_round(.nan)) << 16).isNaN)
        let (k, n) = (5, 19), b = (0..<k * n).map { Float($0) - 40.5 }
        var packed = [UInt16](repeating: 0xFFFF, count: gpt_bf16_packed_b_count(k, n))
        gpt_bf16_pack_b(&packed, 0, k, n, b, n, 0, 2)
        let pairs = gpt_bf16_depth(k) / 2
        for panel in 0..<2 {
            for r in 0..<pairs {
                for j in 0..<16 {
                    for e in 0..<2 {
                        let (row, column) = (2 * r + e, 16 * panel + j)
                        let expected = row < k && column < n ? gpt_bf16_round(b[row * n + column]) : 0
                        #expect(packed[(panel * pairs + r) * 32 + 2 * j + e] == expected)
                    }
                }
            }
        }
    }

    /// Which products round to bfloat16 under the default limits: those with enough multiply-adds per element
    /// rounded (a weight rounded for the step counting nothing).
    @Test func productsChooseBFloat16ByShape() {
        var settings = KernelSettings.current
        (settings.precision, settings.bfloat16Kernel) = (.bfloat16, .emulatedAVX512BF16)
        let weight = [Float](repeating: 0, count: 1), activation = [Float](repeating: 0, count: 1)
        weight.withUnsafeBufferPointer { weight in
            activation.withUnsafeBufferPointer { activation in
                let (w, x) = (weight.baseAddress!, activation.baseAddress!)
                settings.roundedWeights = RoundedWeights(matrices: [(w, rows: 1, columns: 1)])
                func kernel(_ m: Int, _ n: Int, _ k: Int, ta: Bool = false, tb: Bool = false, b: UnsafePointer<Float>)
                    -> BFloat16Kernel?
                {
                    settings.bfloat16Kernel(m: m, n: n, k: k, transposeA: ta, transposeB: tb, b: b)
                }
                #expect(kernel(384, 384, 128, tb: true, b: w) != nil)  // baby's c_attn forward, x Wᵀ
                #expect(kernel(384, 128, 384, b: w) != nil)  // its input gradient, dY W
                #expect(kernel(384, 384, 384, tb: true, b: x) != nil)  // the same shape by an activation: 128 per element
                #expect(kernel(128, 128, 384, ta: true, b: x) != nil)  // baby's c_proj weight gradient: 43 per element
                #expect(kernel(64, 64, 256, ta: true, b: x) == nil)  // tiny's: 21 per element
                #expect(kernel(384, 384, 16_384, ta: true, b: x) != nil)  // lecture's: 128 per element
                #expect(kernel(64, 256, 64, tb: true, b: x) == nil)  // Q Kᵀ of a 64-row block at T = 256: 28
                #expect(kernel(32, 32, 16, b: w) == nil)  // tiny's attention: under 32,768 multiply-adds
                settings.precision = .float32
                #expect(kernel(384, 384, 128, tb: true, b: w) == nil)
            }
        }
    }

    /// Fused attention with bf16 products (each head's keys and values rounded once for all of its row blocks) against
    /// fp32, over three row blocks, forward and the gradient of every input. Rounding q, k, v and the probabilities
    /// to 8 bits of mantissa moves each product by about 2⁻⁹ relative: the bound, 3% of each result's norm, sits
    /// above that and far below what a wrong prefix, panel or stride gives.
    @Test func attentionInBFloat16MatchesFloat32WithinTolerance() {
        let (batch, time, channels, heads) = (2, 130, 96, 2)  // D = 48: two pairs of panels
        let weights = randomTensor([batch, time, channels], seed: 9, requiresGrad: false)
        func run(_ settings: KernelSettings) -> (out: [Float], gradient: [Float]) {
            KernelSettings.with(settings) {
                let qkv = randomTensor([batch, time, 3 * channels], seed: 8)
                var generator = SeededGenerator(seed: 1)
                let out = qkv.causalSelfAttention(heads: heads, generator: &generator)
                (out * weights).sum().backward()
                return (out.values, qkv.gradient!)
            }
        }
        var settings = KernelSettings.current
        let fp32 = run(settings)
        (settings.precision, settings.bfloat16Kernel) = (.bfloat16, .emulatedAVX512BF16)
        (settings.bfloat16ProductLimit, settings.bfloat16MinimumIntensity) = (0, 0)
        let bf16 = run(settings)
        #expect(bf16.out != fp32.out, "no product rounded")
        for (name, x, y) in [("output", bf16.out, fp32.out), ("gradient", bf16.gradient, fp32.gradient)] {
            let norm = y.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            let error = zip(x, y).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            #expect(error <= 0.03 * norm, "\(name): |bf16 - fp32| \(error), |fp32| \(norm)")
        }
    }
}
