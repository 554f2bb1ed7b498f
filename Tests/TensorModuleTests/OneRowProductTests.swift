import Testing
import TensorModule
import _TestSupport

/// A product of one row by a weight (one-token decoding), or of a few rows (a batched decoding step), runs the
/// matrix-vector kernels inside the op, in the precision the settings set: against a naive Double loop on the fp32
/// weights, or on their bfloat16 rounding; each of a few rows gets exactly what it gets alone.
@Suite struct OneRowProductTests {
    static let shapes: [(outputs: Int, inputs: Int)] = [(1, 1), (5, 7), (13, 33), (70, 384), (3, 1541)]

    /// `max(0, x Wᵀ + b)` (without the max unless `relu`) in Double, `W` read through `weight`.
    func naive(_ x: [Float], weight: (Int) -> Float, bias: [Float], outputs: Int, relu: Bool) -> [Float] {
        (0..<outputs).map { r in
            var total = Double(bias[r])
            for c in 0..<x.count { total += Double(weight(r * x.count + c)) * Double(x[c]) }
            return relu ? Float(max(0, total)) : Float(total)
        }
    }

    @Test(arguments: [false, true])
    func linearOfOneRowMatchesNaive(relu: Bool) {
        for (outputs, inputs) in Self.shapes {
            let x = randomTensor([1, 1, inputs], seed: 1, requiresGrad: false)
            let w = randomTensor([outputs, inputs], seed: UInt64(outputs + inputs), requiresGrad: false)
            let b = randomTensor([outputs], seed: 3, requiresGrad: false)
            let y = x.linear(weight: w, bias: b, relu: relu)
            #expect(y.shape == [1, 1, outputs])
            let expected = naive(x.values, weight: { w.values[$0] }, bias: b.values, outputs: outputs, relu: relu)
            let result = compare(y.values, expected, absolute: 1e-4, relative: 1e-4)
            #expect(result.passed, "\(outputs)x\(inputs) relu \(relu): \(result)")
        }
    }

    /// `C = beta C + x Wᵀ + b` through `gemm` itself (the entry every linear layer calls) with beta 0.5.
    @Test func gemmOfOneRowKeepsBeta() {
        let (outputs, inputs) = (70, 384)
        let x = randomTensor([inputs], seed: 4, requiresGrad: false)
        let w = randomTensor([outputs, inputs], seed: 5, requiresGrad: false)
        let b = randomTensor([outputs], seed: 6, requiresGrad: false)
        var c = randomTensor([outputs], seed: 7, requiresGrad: false).values
        let start = c.map { 0.5 * $0 }
        let expected = zip(naive(x.values, weight: { w.values[$0] }, bias: b.values, outputs: outputs, relu: false),
                           start).map { $0 + $1 }
        gemm(transposeA: false, transposeB: true, m: 1, n: outputs, k: inputs, alpha: 1, a: x.storage.pointer,
             lda: inputs, b: w.storage.pointer, ldb: inputs, beta: 0.5, c: &c, ldc: outputs, bias: b.storage.pointer)
        let result = compare(c, expected, absolute: 1e-4, relative: 1e-4)
        #expect(result.passed, "\(result)")
    }

    /// Under bf16 a one-row product reads the weight's bfloat16 copy from the rounded weights in scope (the
    /// naive product on PyTorch's rounding, `bfloat16Bits`); a weight not among them stays fp32.
    @Test func bfloat16OneRowReadsTheRoundedWeights() {
        for (outputs, inputs) in Self.shapes {
            let x = randomTensor([1, inputs], seed: 8, requiresGrad: false)
            let w = randomTensor([outputs, inputs], seed: UInt64(3 * outputs + inputs), requiresGrad: false)
            let b = randomTensor([outputs], seed: 9, requiresGrad: false)
            let rounded = w.values.map { Float(bitPattern: UInt32(bfloat16Bits($0)) << 16) }
            let y = KernelSettings.with(precision: .bfloat16, weights: RoundedWeights([w])) {
                x.linear(weight: w, bias: b)
            }
            let expected = naive(x.values, weight: { rounded[$0] }, bias: b.values, outputs: outputs, relu: false)
            let result = compare(y.values, expected, absolute: 1e-4, relative: 1e-4)
            #expect(result.passed, "bf16 \(outputs)x\(inputs): \(result)")
            let float32 = x.linear(weight: w, bias: b).values
            let unheld = KernelSettings.with(precision: .bfloat16, weights: RoundedWeights([Tensor.zeros([2, 2])])) {
                x.linear(weight: w, bias: b).values
            }
            #expect(unheld == float32, "a weight not among the rounded ones stays fp32")
            if outputs * inputs > 100 { #expect(y.values != float32, "the bfloat16 copy was not read") }
        }
    }

    @Test(arguments: [MatrixPrecision.float32, .bfloat16], VectorInstructions.available)
    func aFewRowsMatchNaiveAndEachRowAlone(precision: MatrixPrecision, instructions: VectorInstructions) {
        var settings = KernelSettings.current
        settings.instructions = instructions
        KernelSettings.with(settings) { fewRowsMatchNaiveAndEachRowAlone(precision: precision) }
    }

    func fewRowsMatchNaiveAndEachRowAlone(precision: MatrixPrecision) {
        for (outputs, inputs) in Self.shapes {
            for rows in [2, 3, 5, 8, 16] {
                let x = randomTensor([rows, 1, inputs], seed: UInt64(rows), requiresGrad: false)
                let w = randomTensor([outputs, inputs], seed: UInt64(outputs + inputs), requiresGrad: false)
                let b = randomTensor([outputs], seed: 3, requiresGrad: false)
                let weights = precision == .float32 ? nil : RoundedWeights([w])
                let read = precision == .float32 ? w.values : w.values.map { Float(bitPattern: UInt32(bfloat16Bits($0)) << 16) }
                let (y, alone) = KernelSettings.with(precision: precision, weights: weights) {
                    (x.linear(weight: w, bias: b, relu: true).values,
                     (0..<rows).flatMap { x.sliced($0..<($0 + 1), axis: 0).linear(weight: w, bias: b, relu: true).values })
                }
                #expect(y == alone, "\(precision) \(rows)x\(outputs)x\(inputs): each row as alone")
                let expected = (0..<rows).flatMap { r in
                    naive(Array(x.values[(r * inputs)..<((r + 1) * inputs)]), weight: { read[$0] }, bias: b.values,
                          outputs: outputs, relu: true)
                }
                let result = compare(y, expected, absolute: 1e-4, relative: 1e-4)
                #expect(result.passed, "\(precision) \(rows)x\(outputs)x\(inputs): \(result)")
            }
        }
    }

    /// After the weights change, ``RoundedWeights/invalidate()`` makes the next product round them again.
    @Test func roundedWeightsFollowTheWeightsAfterInvalidate() {
        let x = randomTensor([1, 48], seed: 10, requiresGrad: false)
        let w = randomTensor([32, 48], seed: 11, requiresGrad: false)
        let weights = RoundedWeights([w])
        func product() -> [Float] {
            KernelSettings.with(precision: .bfloat16, weights: weights) { x.linear(weight: w).values }
        }
        let before = product()
        w.storage.pointer.update(repeating: 0.5, count: w.count)
        #expect(product() == before, "a copy stays as it was until invalidated")
        weights.invalidate()
        let sum = x.values.reduce(0, +) * 0.5
        #expect(compare(product(), [Float](repeating: sum, count: 32), absolute: 1e-4, relative: 1e-4).passed)
    }
}
