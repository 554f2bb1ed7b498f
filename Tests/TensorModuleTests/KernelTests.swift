import Foundation
import Testing
import TensorModule
import _TestSupport

/// The fast matrix kernels against the naive triple loop, on odd shapes and every transposition.
@Suite struct KernelTests {
    /// Odd shapes, partial tiles of every kernel (6 x 8, 6 x 16, 12 x 32, and the C kernel's leftover rows), a depth
    /// past one 256-deep block, more than 1,024 columns (the C kernel's column block), and whole 8 x 8 blocks of a
    /// transposed B.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (7, 1, 65), (1, 129, 7), (65, 7, 129), (129, 65, 7), (33, 300, 17), (25, 70, 300),
        (13, 1100, 9), (20, 48, 40),
    ]

    func run(
        _ kernel: (Bool, Bool, Int, Int, Int, Float, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, Float,
            UnsafeMutablePointer<Float>, Int) -> Void,
        name: String
    ) {
        for (m, n, k) in Self.shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = randomTensor([m * k], seed: UInt64(m + 3 * k), requiresGrad: false)
                let b = randomTensor([k * n], seed: UInt64(n + 5 * k), requiresGrad: false)
                let start = randomTensor([m * n], seed: 11, requiresGrad: false)
                let expected = start.detached(), actual = start.detached()
                let lda = ta ? m : k, ldb = tb ? k : n
                naiveGEMM(
                    transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5, a: a.storage.pointer, lda: lda,
                    b: b.storage.pointer, ldb: ldb, beta: 0.25, c: expected.storage.pointer, ldc: n)
                kernel(ta, tb, m, n, k, 0.5, a.storage.pointer, lda, b.storage.pointer, ldb, 0.25,
                    actual.storage.pointer, n)
                let result = compare(actual.values, expected.values, absolute: 1e-4, relative: 1e-4)
                #expect(result.passed, "\(name) m=\(m) n=\(n) k=\(k) ta=\(ta) tb=\(tb): \(result)")
            }
        }
    }

    @Test(arguments: VectorInstructions.available)
    func cKernelMatchesNaive(instructions: VectorInstructions) {
        run({ cKernelGEMM(transposeA: $0, transposeB: $1, m: $2, n: $3, k: $4, alpha: $5, a: $6, lda: $7,
            b: $8, ldb: $9, beta: $10, c: $11, ldc: $12, instructions: instructions) }, name: "C kernel \(instructions)")
    }

    /// The bias and ReLU epilogue (a linear layer's) on every kernel level and the active backend: the naive
    /// product, plus the bias, then max(0, .), on the shapes above with beta 0 and 0.5.
    @Test(arguments: VectorInstructions.available)
    func epilogueMatchesNaive(instructions: VectorInstructions) {
        for (m, n, k) in Self.shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for beta: Float in [0, 0.5] {
                    let a = randomTensor([m * k], seed: UInt64(m + 3 * k), requiresGrad: false)
                    let b = randomTensor([k * n], seed: UInt64(n + 5 * k), requiresGrad: false)
                    let bias = randomTensor([n], seed: 12, requiresGrad: false)
                    let start = randomTensor([m * n], seed: 11, requiresGrad: false)
                    let expected = start.detached(), viaCKernel = start.detached(), viaGEMM = start.detached()
                    let lda = ta ? m : k, ldb = tb ? k : n
                    naiveGEMM(
                        transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5, a: a.storage.pointer,
                        lda: lda, b: b.storage.pointer, ldb: ldb, beta: beta, c: expected.storage.pointer, ldc: n)
                    let reference = expected.values.enumerated().map { max(0, $1 + bias.values[$0 % n]) }
                    cKernelGEMM(
                        transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5, a: a.storage.pointer,
                        lda: lda, b: b.storage.pointer, ldb: ldb, beta: beta, c: viaCKernel.storage.pointer, ldc: n,
                        bias: bias.storage.pointer, relu: true, instructions: instructions)
                    gemm(
                        transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5, a: a.storage.pointer,
                        lda: lda, b: b.storage.pointer, ldb: ldb, beta: beta, c: viaGEMM.storage.pointer, ldc: n,
                        bias: bias.storage.pointer, relu: true)
                    let label = "\(instructions) m=\(m) n=\(n) k=\(k) ta=\(ta) tb=\(tb) beta=\(beta)"
                    for (name, actual) in [("C kernel", viaCKernel), ("gemm", viaGEMM)] {
                        let result = compare(actual.values, reference, absolute: 1e-4, relative: 1e-4)
                        #expect(result.passed, "\(name) \(label): \(result)")
                    }
                }
            }
        }
    }

    @Test func activeBackendMatchesNaive() {
        // With a BLAS installed this checks it; without one it checks the dispatch to the C kernel.
        run({ gemm(transposeA: $0, transposeB: $1, m: $2, n: $3, k: $4, alpha: $5, a: $6, lda: $7,
            b: $8, ldb: $9, beta: $10, c: $11, ldc: $12) }, name: "\(MatrixBackend.current)")
    }

    /// Products much deeper than wide (weight gradients) are split along the depth and summed: every transposition,
    /// with beta 0 and 1, against the naive loop.
    @Test func deepProductsMatchNaive() {
        let (m, n, k) = (20, 30, 4100)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for beta: Float in [0, 1] {
                let a = randomTensor([m * k], seed: 3, requiresGrad: false)
                let b = randomTensor([k * n], seed: 4, requiresGrad: false)
                let start = randomTensor([m * n], seed: 5, requiresGrad: false)
                let expected = start.detached(), actual = start.detached()
                let lda = ta ? m : k, ldb = tb ? k : n
                naiveGEMM(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5, a: a.storage.pointer,
                          lda: lda, b: b.storage.pointer, ldb: ldb, beta: beta, c: expected.storage.pointer, ldc: n)
                gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5, a: a.storage.pointer, lda: lda,
                     b: b.storage.pointer, ldb: ldb, beta: beta, c: actual.storage.pointer, ldc: n)
                let result = compare(actual.values, expected.values, absolute: 1e-3, relative: 1e-4)
                #expect(result.passed, "ta=\(ta) tb=\(tb) beta=\(beta): \(result)")
            }
        }
    }

    @Test func betaZeroIgnoresGarbageInOutput() {
        let a = randomTensor([3 * 4], seed: 1, requiresGrad: false), b = randomTensor([4 * 5], seed: 2, requiresGrad: false)
        let c = Tensor.filled([15], with: .nan)
        cKernelGEMM(transposeA: false, transposeB: false, m: 3, n: 5, k: 4, alpha: 1, a: a.storage.pointer, lda: 4,
            b: b.storage.pointer, ldb: 5, beta: 0, c: c.storage.pointer, ldc: 5)
        #expect(c.values.allSatisfy { $0.isFinite })
    }
}

/// Forward values of the ops against formulas computed independently in `Double`.
@Suite struct ForwardTests {
    @Test func softmaxMatchesFormula() {
        let x: [Float] = [1, 2, 3, -1, 0.5, 4]
        let y = Tensor(shape: [2, 3], values: x).softmax().values
        for row in 0..<2 {
            let slice = x[(row * 3)..<(row * 3 + 3)].map(Double.init)
            let total = slice.map { exp($0) }.reduce(0, +)
            for j in 0..<3 { #expect(abs(Double(y[row * 3 + j]) - exp(slice[row * 3 + j - row * 3]) / total) < 1e-6) }
        }
    }

    @Test func crossEntropyMatchesNegativeLogSoftmax() {
        let x: [Float] = [0.2, -1, 3, 0.7, 0.1, -0.4]
        let loss = Tensor(shape: [2, 3], values: x).crossEntropy(targets: [2, 0]).item
        func nll(_ row: [Float], _ target: Int) -> Double {
            let logTotal = log(row.map { exp(Double($0)) }.reduce(0, +))
            return logTotal - Double(row[target])
        }
        let expected = (nll(Array(x[0..<3]), 2) + nll(Array(x[3..<6]), 0)) / 2
        #expect(abs(Double(loss) - expected) < 1e-6)
    }

    @Test func layerNormMatchesFormula() {
        let x: [Float] = [1, 2, 4, 8]
        let y = Tensor(shape: [1, 4], values: x)
            .layerNorm(weight: Tensor(shape: [4], values: [1, 2, 1, 1]), bias: Tensor(shape: [4], values: [0, 0, 1, 0]))
            .values
        let mean = 3.75, variance = [1, 2, 4, 8].map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
        let normalized = [1, 2, 4, 8].map { ($0 - mean) / (variance + 1e-5).squareRoot() }
        let expected = [normalized[0], 2 * normalized[1], normalized[2] + 1, normalized[3]]
        #expect(compare(y, expected.map(Float.init), absolute: 1e-5).passed)
    }

    /// Every instruction level against the tanh form in Double, over 37 values (vector bodies and masked tails) from
    /// -100 to 100 (where exp overflows or vanishes).
    @Test(arguments: VectorInstructions.available)
    func geluMatchesTanhForm(instructions: VectorInstructions) {
        let x: [Float] = [-100, -12, -3, -1, 0, 0.5, 2, 9, 100] + (0..<28).map { Float($0) * 0.37 - 5 }
        var settings = KernelSettings.current
        settings.instructions = instructions
        let y = KernelSettings.with(settings) { Tensor(shape: [x.count], values: x).geluTanh().values }
        let expected = x.map { v -> Float in
            let d = Double(v)
            return Float(0.5 * d * (1 + tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d))))
        }
        #expect(compare(y, expected, absolute: 1e-6, relative: 1e-6).passed, "\(instructions)")
    }

    @Test func exactGELUAndReLUSquaredMatchTheirFormulas() {
        let x: [Float] = [-6, -3, -1, -0.25, 0, 0.5, 2, 7]
        let exact = Tensor(shape: [8], values: x).gelu().values
        #expect(compare(exact, x.map { Float(0.5 * Double($0) * (1 + erf(Double($0) / 2.0.squareRoot()))) }, absolute: 1e-6).passed)
        let squared = Tensor(shape: [8], values: x).reluSquared().values
        #expect(squared == x.map { $0 > 0 ? $0 * $0 : 0 })
        // The two GELUs differ by up to about 5e-4 (what nanoGPT's logits showed against the tanh form).
        let tanhForm = Tensor(shape: [8], values: x).geluTanh().values
        #expect(zip(exact, tanhForm).map { abs($0 - $1) }.max()! > 1e-4)
    }

    @Test func noGradientModeRecordsNothing() {
        let w = randomTensor([3], seed: 1)
        let y = withoutGradient { w.relu().sum() }
        #expect(!y.requiresGrad)
        #expect(w.relu().sum().requiresGrad)
    }

    @Test func gradientsAccumulateOnReuse() {
        let w = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        (w + w).sum().backward()
        #expect(w.gradient == [2, 2])
    }

    @Test func seededGeneratorIsReproducible() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let first = (0..<5).map { _ in a.next() }
        #expect(first == (0..<5).map { _ in b.next() })
        #expect(first != (0..<5).map { _ in c.next() })
        // SplitMix64 seeding + xoshiro256**, from an independent Python implementation of the two algorithms.
        #expect(Array(first.prefix(3)) == [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1])
    }

    @Test func seededGeneratorStateRoundTripsAndRejectsABadOne() throws {
        var generator = SeededGenerator(seed: 7)
        _ = generator.next()
        let data = try JSONEncoder().encode(generator)
        var restored = try JSONDecoder().decode(SeededGenerator.self, from: data)
        #expect(restored == generator && restored.next() == generator.next())
        #expect(String(decoding: data, as: UTF8.self).hasPrefix("{\"state\":["))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(SeededGenerator.self, from: Data(#"{"state":[1,2,3]}"#.utf8))
        }
    }
}
