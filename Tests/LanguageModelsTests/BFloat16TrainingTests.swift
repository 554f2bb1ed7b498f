import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import CKernels
import _TestSupport

/// `--precision bf16`: rounding and a product against PyTorch (`Scripts/make_bf16_fixtures.py`), a training step
/// against the fp32 step, the setting saved and resumed. Here the bf16 products run on the AVX2 kernel where the CPU
/// has AVX2 (the same sums as AVX512-BF16's), else on the written-out AVX512-BF16 kernel, so these run anywhere.
@Suite struct BFloat16TrainingTests {
    /// Kernel settings with every product (whatever its size) on a bfloat16 kernel that runs here.
    static var bfloat16Settings: KernelSettings {
        var settings = KernelSettings.current
        settings.bfloat16Kernel = BFloat16Kernel.machine ?? (BFloat16Kernel.avx2.isAvailable ? .avx2 : .emulatedAVX512BF16)
        (settings.bfloat16ProductLimit, settings.bfloat16MinimumIntensity) = (0, 0)
        return settings
    }

    @Test func roundingAndProductMatchPyTorch() throws {
        let file = try ParityTests.fixture("bf16")
        let values = try #require(file.tensors["values"]).values, rounded = try #require(file.tensors["rounded"]).values
        for (value, expected) in zip(values, rounded) {
            let ours = Float(bitPattern: UInt32(gpt_bf16_round(value)) << 16)
            #expect(ours.bitPattern == expected.bitPattern, "\(value): \(ours) != torch's \(expected)")
        }
        let a = try #require(file.tensors["a"]), b = try #require(file.tensors["b"])
        let expected = try #require(file.tensors["product"]).values
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        let round = { (x: Float) in Float(bitPattern: UInt32(gpt_bf16_round(x)) << 16) }
        let ra = a.values.map(round), rb = b.values.map(round)
        for kernel in BFloat16Kernel.allCases where kernel.isAvailable {
            var c = [Float](repeating: 0, count: m * n)
            c.withUnsafeMutableBufferPointer { c in
                _ = bfloat16GEMM(kernel: kernel, transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
                                 a: a.values, lda: k, b: b.values, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
            }
            // fp32 summation of k exact products: each addition rounds once, so within (k + 1) 2⁻²⁴ Σ|a b|, plus
            // the rounding of torch's float64 sum to fp32.
            for i in 0..<m {
                for j in 0..<n {
                    let magnitude = (0..<k).reduce(Float(0)) { $0 + abs(ra[i * k + $1] * rb[$1 * n + j]) }
                    let bound = Float(k + 1) * 0x1p-24 * magnitude + expected[i * n + j].ulp
                    #expect(abs(c[i * n + j] - expected[i * n + j]) <= bound, "\(kernel.name) at \(i), \(j)")
                }
            }
        }
    }

    static func model(seed: UInt64 = 3) -> GPTLanguageModel {
        var generator = SeededGenerator(seed: seed)
        return GPTLanguageModel(tinyGPTConfiguration(vocabularySize: 23, blockSize: 16, width: 32), generator: &generator)
    }

    /// One step's loss and gradients in bf16 against fp32's, on the same weights and batch. bf16 keeps 8 bits of
    /// mantissa: each rounded operand is off by at most 2⁻⁹ relative, so the loss moves by a fraction of a percent.
    /// The gradients' error grows on the way back, each block's products rounding again and ReLU gates near zero
    /// flipping: measured 0.2% at the head, 1-3% in the last block, up to 6% in the first block's feed-forward (at
    /// initialisation, where gradients are smallest). The bounds, 0.5% of the loss and 15% of each gradient's norm,
    /// sit above that and far below what a wrong kernel, layout or transposition gives (an error of order 100%).
    @Test func trainingStepMatchesFloat32WithinTolerance() throws {
        var settings = TrainingSettings()
        (settings.batchSize, settings.blockSize, settings.maxIterations) = (4, 16, 1)
        let tokens = (0..<2000).map { ($0 * 7 + $0 / 3) % 23 }
        func step(_ precision: MatrixPrecision) throws -> (Float, [[Float]]) {
            var settings = settings
            settings.precision = precision
            let trainer = try Trainer(model: Self.model(), dataset: TextDataset(tokens: tokens), settings: settings)
            #expect(trainer.productPrecision == precision)
            let loss = try trainer.trainStep()
            return (loss, trainer.model.parameters.map { $0.gradient ?? [] })
        }
        let names = Self.model().namedParameters().map(\.name)
        let (loss32, gradients32) = try step(.float32)
        let (loss16, gradients16) = try KernelSettings.with(Self.bfloat16Settings) { try step(.bfloat16) }
        #expect(loss16 != loss32, "the bf16 step gave fp32's loss bit for bit: its products did not round")
        #expect(abs(loss16 - loss32) <= 0.005 * loss32, "loss \(loss16) vs \(loss32)")
        for (index, (g16, g32)) in zip(gradients16, gradients32).enumerated() {
            let norm = g32.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            let difference = zip(g16, g32).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            #expect(difference <= 0.15 * norm + 1e-7, "\(names[index]): |g16 - g32| \(difference), |g32| \(norm)")
        }
    }

    /// Where no bfloat16 kernel runs, a bf16 run keeps its setting (for a resume elsewhere) and trains in fp32,
    /// giving fp32's losses exactly.
    @Test func withoutAKernelTheRunFallsBackToFloat32() throws {
        var kernels = KernelSettings.current
        kernels.bfloat16Kernel = nil
        try KernelSettings.with(kernels) {
            var settings = TrainingSettings()
            (settings.batchSize, settings.blockSize, settings.precision) = (2, 16, .bfloat16)
            let tokens = (0..<500).map { $0 % 23 }
            let trainer = try Trainer(model: Self.model(), dataset: TextDataset(tokens: tokens), settings: settings)
            #expect(trainer.productPrecision == .float32)
            settings.precision = .float32
            let reference = try Trainer(model: Self.model(), dataset: TextDataset(tokens: tokens), settings: settings)
            #expect(try trainer.trainStep() == reference.trainStep())
        }
    }

    @Test func precisionIsSavedAndOlderRunsReadAsFloat32() throws {
        var settings = TrainingSettings()
        settings.precision = .bfloat16
        let data = try JSONEncoder().encode(settings)
        #expect(String(decoding: data, as: UTF8.self).contains("\"precision\":\"bf16\""))
        #expect(try JSONDecoder().decode(TrainingSettings.self, from: data).precision == .bfloat16)
        let older = try JSONDecoder().decode(TrainingSettings.self, from: Data("{\"batchSize\": 3}".utf8))
        #expect(older.precision == .float32)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(TrainingSettings.self, from: Data("{\"precision\": \"fp8\"}".utf8))
        }
        #expect(MatrixPrecision(name: "bfloat16") == .bfloat16 && MatrixPrecision(name: "FP32") == .float32)
        #expect(MatrixPrecision(name: "fp16") == nil)
        // The long names decoding and serving wrote before the spellings were one.
        let long = try JSONDecoder().decode([MatrixPrecision].self, from: Data("[\"bfloat16\", \"float32\"]".utf8))
        #expect(long == [.bfloat16, .float32])
    }

    /// The weights are rounded once per step: every product by the same matrix in the same layout reads one copy,
    /// until the copies are marked stale.
    @Test func weightsArePackedOncePerLayout() {
        let (rows, inputs, outputs) = (64, 40, 24)
        let x = randomValues(rows * inputs, seed: 1), w = randomValues(outputs * inputs, seed: 2)
        let dy = randomValues(rows * outputs, seed: 3)
        w.withUnsafeBufferPointer { w in
            let packed = RoundedWeights(matrices: [(w.baseAddress!, rows: outputs, columns: inputs)])
            var settings = Self.bfloat16Settings
            settings.precision = .bfloat16
            func products(_ settings: KernelSettings) -> [Float] {
                var y = [Float](repeating: 0, count: rows * outputs), dx = [Float](repeating: 0, count: rows * inputs)
                KernelSettings.with(settings) {
                    for _ in 0..<2 {  // two micro-batches' forwards: y = x Wᵀ
                        gemm(transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs, alpha: 1, a: x,
                             lda: inputs, b: w.baseAddress!, ldb: inputs, beta: 0, c: &y, ldc: outputs)
                    }
                    gemm(transposeA: false, transposeB: false, m: rows, n: inputs, k: outputs, alpha: 1, a: dy,
                         lda: outputs, b: w.baseAddress!, ldb: inputs, beta: 0, c: &dx, ldc: inputs)  // dx = dY W
                }
                return y + dx
            }
            let unpacked = products(settings)
            settings.roundedWeights = packed
            #expect(products(settings) == unpacked)
            #expect(packed.packCount == 2)
            packed.invalidate()  // after an optimizer step: packed again, once per layout
            #expect(products(settings) == unpacked)
            #expect(packed.packCount == 4)
        }
    }

    func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in generator.nextFloat() - 0.5 }
    }
}
