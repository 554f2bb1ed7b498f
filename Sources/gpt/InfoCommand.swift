import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the matrix backend, the core count and a measured GEMM speed.")

    @Option(help: "Side of the square matrices multiplied.") var size = 512

    func run() throws {
        let backend = MatrixBackend.current
        print("matrix backend: \(backend)")
        print("cores: \(kernelThreadCount)")
        print("vector instructions: \(VectorInstructions.widest) (products up to 2^27 multiply-adds, all without a BLAS, "
              + "decoding, softmax, layer norm, AdamW)")
        print("bfloat16 units: \(BFloat16Units.machine)")
        let bfloat16 = KernelSettings.current.bfloat16Kernel
        print("bfloat16 products (--precision bf16): " + (bfloat16.map(\.description)
            ?? "none here, fp32 instead (GPT_BF16_KERNEL=avx2 runs bf16 numerics on AVX2, no faster)"))
        print("8-bit products (--precision q8): \(QuantizedKernel.machine)")
        if let coreType = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] { print("OPENBLAS_CORETYPE: \(coreType)") }
        print(String(format: "GEMM %dx%dx%d: %.1f GFLOP/s (%@)", size, size, size, measureGEMMGigaflops(size: size),
                     backend.description))
        if backend != .cKernel {
            print(String(format: "GEMM %dx%dx%d: %.1f GFLOP/s (%@)", size, size, size,
                         measureGEMMGigaflops(size: size, cKernel: true), MatrixBackend.cKernel.description))
        }
        // Every bfloat16 kernel this CPU runs natively (not the written-out test copies), operands rounded per call.
        for kernel in [BFloat16Kernel.amx, .avx512BF16, .avx2] {
            guard let speed = measureBFloat16Gigaflops(kernel, size: size) else { continue }
            print(String(format: "bf16 GEMM %dx%dx%d: %.1f GFLOP/s (%@%@)", size, size, size, speed, kernel.description,
                         kernel == bfloat16 ? ", in use" : ""))
        }
    }
}
