import Foundation
import Testing
import TensorModule
import _TestSupport

/// The 8-bit (Q8_0) weights and products against `Naive`'s llama.cpp rounding and a Double product.
@Suite struct QuantizedKernelTests {
    /// Shapes reaching the pairs of blocks, an odd last block, a short tail block, and several activation tiles.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 5, 32), (1, 7, 45), (1, 9, 600), (1, 6, 1100), (3, 9, 96), (5, 4, 600), (2, 3, 8200),
    ]

    static func values(_ count: Int, seed: UInt64) -> [Float] {
        randomTensor([count], seed: seed, requiresGrad: false).values
    }

    @Test func quantisationIsLlamaCppsRounding() {
        for (_, n, k) in Self.shapes {
            var w = Self.values(n * k, seed: UInt64(n * 31 + k))
            w[0] = 0
            if k >= 64 { for c in 32..<64 { w[c] = 0 } }  // an all-zero block: d = 0, q = 0
            let matrix = w.withUnsafeBufferPointer { QuantizedMatrix($0.baseAddress!, rows: n, columns: k) }
            #expect(matrix.dequantized() == Naive.dequantizedQ8(w, columns: k), "\(n)x\(k)")
            #expect(matrix.byteCount == n * ((k + 31) / 32) * 34)
        }
    }

    @Test(arguments: VectorInstructions.available)
    func productsMatchTheDoubleReference(instructions: VectorInstructions) {
        for (m, n, k) in Self.shapes {
            let w = Self.values(n * k, seed: UInt64(n + k)), a = Self.values(m * k, seed: UInt64(m * 7 + k))
            let matrix = w.withUnsafeBufferPointer { QuantizedMatrix($0.baseAddress!, rows: n, columns: k) }
            let expected = Naive.q8Product(a, weight: w, k: k).map { Float($0) }
            var c = [Float](repeating: .nan, count: m * n)
            quantizedProduct(m: m, n: n, k: k, a: a, lda: k, weight: matrix, beta: 0, c: &c, ldc: n, bias: nil,
                             relu: false, instructions: instructions)
            let result = compare(c, expected, absolute: 1e-4, relative: 1e-4)
            #expect(result.passed, "\(instructions) \(m)x\(n)x\(k): \(result)")
        }
    }

    @Test(arguments: VectorInstructions.available)
    func biasBetaAndReLUFollowTheProduct(instructions: VectorInstructions) {
        let (m, n, k) = (3, 6, 70)
        let w = Self.values(n * k, seed: 1), a = Self.values(m * k, seed: 2), bias = Self.values(n, seed: 3)
        let start = Self.values(m * n, seed: 4)
        let matrix = w.withUnsafeBufferPointer { QuantizedMatrix($0.baseAddress!, rows: n, columns: k) }
        let product = Naive.q8Product(a, weight: w, k: k)
        let expected = (0..<m * n).map { max(0, Float(0.5 * Double(start[$0]) + product[$0] + Double(bias[$0 % n]))) }
        var c = start
        quantizedProduct(m: m, n: n, k: k, a: a, lda: k, weight: matrix, beta: 0.5, c: &c, ldc: n, bias: bias,
                         relu: true, instructions: instructions)
        #expect(compare(c, expected, absolute: 1e-4, relative: 1e-4).passed)
    }

    /// Many rows (a prefill): the dequantised weights by the fp32 activations, in fp32 without AMX, on AMX's
    /// bfloat16 tiles with it.
    @Test(arguments: [false, true]) func manyRowsMultiplyTheDequantisedWeights(amx: Bool) {
        guard !amx || BFloat16Kernel.amx.isAvailable else { return }
        let (m, n, k) = (40, 20, 96)
        let w = Self.values(n * k, seed: 5), a = Self.values(m * k, seed: 6)
        let matrix = w.withUnsafeBufferPointer { QuantizedMatrix($0.baseAddress!, rows: n, columns: k) }
        var settings = KernelSettings.current
        settings.bfloat16Kernel = amx ? .amx : nil
        var c = [Float](repeating: 0, count: m * n)
        KernelSettings.with(settings) {
            quantizedProduct(m: m, n: n, k: k, a: a, lda: k, weight: matrix, beta: 0, c: &c, ldc: n, bias: nil,
                             relu: false)
        }
        let weights = Naive.dequantizedQ8(w, columns: k).map(Double.init)
        let reference = Naive.linear(a.map(Double.init), weight: weights, bias: nil, inputs: k).map { Float($0) }
        // With AMX both inputs are rounded to bfloat16 (2^-9 each): sums of 96 products of unit normals (about 10)
        // move by up to about 0.1.
        #expect(compare(c, reference, absolute: amx ? 0.2 : 1e-4, relative: amx ? 2e-2 : 1e-4).passed, "amx \(amx)")
    }

    @Test func gemmReadsTheQuantizedCopyUnderQ8() {
        let (m, n, k) = (2, 8, 64)
        let w = Self.values(n * k, seed: 8), a = Self.values(m * k, seed: 9)
        let weightTensor = Tensor(shape: [n, k], values: w)
        let copies = RoundedWeights([weightTensor])
        var exact = [Float](repeating: 0, count: m * n), eight = exact
        gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k,
             b: weightTensor.storage.pointer, ldb: k, beta: 0, c: &exact, ldc: n)
        KernelSettings.with(precision: .q8, weights: copies) {
            gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k,
                 b: weightTensor.storage.pointer, ldb: k, beta: 0, c: &eight, ldc: n)
        }
        #expect(eight != exact, "the 8-bit copy was not read")
        #expect(compare(eight, Naive.q8Product(a, weight: w, k: k).map { Float($0) }, absolute: 1e-4).passed)
        #expect(copies.quantizedByteCount == n * 2 * 34)
    }

    @Test func precisionNamesAndTraining() {
        #expect(MatrixPrecision(name: "q8") == .q8)
        #expect(MatrixPrecision(name: "Q8_0") == .q8)
        #expect(!MatrixPrecision.q8.isTrainable && MatrixPrecision.bfloat16.isTrainable)
    }
}
