// The hot kernels of a training step and of decoding, at the shapes of each preset, so that a regression in one
// kernel shows on its own. Run from this package: `swift package benchmark` (`--filter ".*baby.*"` for one preset).
import Benchmark
import LanguageModels
import NN
import TensorModule

/// The shapes a preset's training step multiplies, from the presets themselves: B*T tokens, width C, and the
/// vocabulary of tiny shakespeare (65).
struct PresetShape {
    let name: String, batch: Int, time: Int, width: Int, heads: Int
    var tokens: Int { batch * time }
    static let all = TrainingPreset.all.filter { $0.name != "bigram" }.map { preset in
        let model = preset.model(65)
        return PresetShape(name: preset.name, batch: preset.training.batchSize, time: preset.training.blockSize,
                           width: model.embeddingSize, heads: model.headCount)
    }
}

func random(_ shape: [Int], seed: UInt64, requiresGrad: Bool = false) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor.normal(shape, std: 0.5, generator: &generator, requiresGrad: requiresGrad)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput], warmupIterations: 2, maxDuration: .seconds(2),
        maxIterations: 200)

    for preset in PresetShape.all {
        let m = preset.tokens, c = preset.width
        // Forward products of one block and the head: qkv, attention output, MLP up and down, logits.
        let products = [("qkv", c, 3 * c), ("proj", c, c), ("fc", c, 4 * c), ("fc-proj", 4 * c, c), ("head", c, 65)]
        // gemm: the backend's choice; ckernel: the C kernel; bf16: the bfloat16 kernel of `--precision bf16`
        // (AMX or AVX512-BF16, or GPT_BF16_KERNEL's), operands rounded on every call, where there is one.
        let bfloat16 = KernelSettings.current.bfloat16Kernel
        for (label, k, n) in products {
            for variant in ["gemm", "ckernel"] + (bfloat16 == nil ? [] : ["bf16"]) {
                let name = "\(variant) \(preset.name) \(label) \(m)x\(k)x\(n)"
                Benchmark(name) { benchmark in
                    let a = random([m * k], seed: 1), b = random([k * n], seed: 2), out = random([m * n], seed: 3)
                    let (x, y, z) = (a.storage.pointer, b.storage.pointer, out.storage.pointer)
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations {
                        switch variant {
                        case "ckernel":
                            cKernelGEMM(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
                                        a: x, lda: k, b: y, ldb: n, beta: 0, c: z, ldc: n)
                        case "bf16":
                            bfloat16GEMM(kernel: bfloat16!, transposeA: false, transposeB: false, m: m, n: n, k: k,
                                         alpha: 1, a: x, lda: k, b: y, ldb: n, beta: 0, c: z, ldc: n,
                                         threads: kernelThreadCount)
                        default:
                            gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
                                 a: x, lda: k, b: y, ldb: n, beta: 0, c: z, ldc: n)
                        }
                        blackHole(z[0])
                    }
                }
            }
        }

        Benchmark("attention \(preset.name) forward+backward") { benchmark in
            let qkv = random([preset.batch, preset.time, 3 * c], seed: 4, requiresGrad: true)
            var generator = SeededGenerator(seed: 5)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                qkv.clearGradient()
                qkv.causalSelfAttention(heads: preset.heads, generator: &generator).sum().backward()
            }
        }
        Benchmark("layer norm \(preset.name) forward+backward") { benchmark in
            let x = random([m, c], seed: 6, requiresGrad: true)
            let weight = random([c], seed: 7, requiresGrad: true), bias = random([c], seed: 8, requiresGrad: true)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for tensor in [x, weight, bias] { tensor.clearGradient() }
                x.layerNorm(weight: weight, bias: bias).sum().backward()
            }
        }
        Benchmark("cross-entropy \(preset.name) forward+backward") { benchmark in
            let logits = random([m, 65], seed: 9, requiresGrad: true)
            let targets = (0..<m).map { ($0 * 7) % 65 }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                logits.clearGradient()
                logits.crossEntropy(targets: targets).backward()
            }
        }
        Benchmark("AdamW \(preset.name) step") { benchmark in
            let parameters = [random([12 * c * c + 65 * c], seed: 10, requiresGrad: true)]
            parameters[0].sum().backward()  // a gradient of ones to apply
            let optimizer = AdamW(parameters: parameters)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { optimizer.update() }
        }
    }

    // One decoded token of the lecture model streams ~10.6M weights: six blocks of four products (the head is small).
    let lectureMatrices = [(1152, 384), (384, 384), (1536, 384), (384, 1536)]
    for precision in ["float32", "bfloat16"] {
        Benchmark("decode lecture one token, \(precision) weights") { benchmark in
            // Six blocks' worth of distinct matrices, so that the weights stream from memory as in decoding.
            let weights = (0..<6).flatMap { layer in
                lectureMatrices.map { random([$0.0 * $0.1], seed: UInt64(layer * 10_000 + $0.0)) }
            }
            let halves = weights.enumerated().map { index, weight in
                let (rows, columns) = lectureMatrices[index % 4]
                return BFloat16Matrix(weight.storage.pointer, rows: rows, columns: columns)
            }
            let input = random([1536], seed: 11), output = random([1536], seed: 12)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for index in weights.indices {
                    let (rows, columns) = lectureMatrices[index % 4]
                    if precision == "float32" {
                        matrixVectorProduct(out: output.storage.pointer, weight: weights[index].storage.pointer,
                                            input: input.storage.pointer, rows: rows, columns: columns,
                                            accumulate: false)
                    } else {
                        matrixVectorProduct(out: output.storage.pointer, weight: halves[index],
                                            input: input.storage.pointer, accumulate: false)
                    }
                }
                blackHole(output.storage.pointer[0])
            }
        }
    }
}
