import CKernels
import Foundation

/// The vector instruction set a kernel is compiled for.
///
/// Swift code for x86-64 is compiled for SSE2, the baseline every such CPU has, and the package passes no compiler
/// flags. The hottest kernels therefore also exist in C (the `CKernels` target), each built for AVX2+FMA or AVX-512
/// through a function attribute, and are chosen at run time by what the CPU and the operating system support.
/// `GPT_SIMD=portable|avx2|avx512` caps the choice (to compare kernels, or to rule one out).
public enum VectorInstructions: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// The Swift kernels: SIMD types compiled for the baseline (SSE2 on x86-64, NEON on arm64).
    case portable = 0
    /// 256-bit AVX2 with fused multiply-add (and the F16C half-precision conversions, which every AVX2 CPU has).
    case avx2 = 2
    /// 512-bit AVX-512 (F and BW).
    case avx512 = 3

    /// The set the kernels use: ``KernelSettings/instructions`` of the settings in force (``machine`` unless a
    /// scope narrows it).
    public static var widest: VectorInstructions { KernelSettings.current.instructions }

    /// The widest set this CPU and OS support, capped by `GPT_SIMD`.
    public static let machine: VectorInstructions = {
        let detected = VectorInstructions(rawValue: Int(gpt_simd_level())) ?? .portable
        guard let cap = ProcessInfo.processInfo.environment["GPT_SIMD"]?.lowercased() else { return detected }
        let limit: VectorInstructions = cap == "avx512" ? .avx512 : cap == "avx2" ? .avx2 : .portable
        return min(detected, limit)
    }()

    /// Every set this machine can run, narrowest first (what tests check against each other).
    public static var available: [VectorInstructions] { allCases.filter { $0 <= machine } }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .portable: "Swift SIMD, baseline"
        case .avx2: "AVX2+FMA"
        case .avx512: "AVX-512"
        }
    }
}

/// The bfloat16 matrix units this CPU and OS offer: AVX512-BF16 (`vdpbf16ps`, two bf16 products per fp32 lane;
/// Zen 4, Xeon from Cooper Lake on) and AMX-BF16 (`tdpbf16ps` on 16 x 32 tiles; Xeon from Sapphire Rapids on, usable
/// on Linux once the kernel grants the tile state, which the first query requests).
public struct BFloat16Units: Sendable, Equatable, CustomStringConvertible {
    public let avx512BF16: Bool
    public let amx: Bool

    /// What this machine has (detected once).
    public static let machine: BFloat16Units = {
        let units = gpt_bf16_units()
        return BFloat16Units(avx512BF16: units & 1 != 0, amx: units & 2 != 0)
    }()

    public var description: String {
        "AVX512-BF16 \(avx512BF16 ? "yes" : "no"), AMX-BF16 \(amx ? "yes" : "no")"
    }
}
