#if canImport(Accelerate)
import Accelerate
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A platform BLAS: Accelerate on Apple platforms, or a shared library opened with `dlopen` on Linux.
///
/// Nothing is linked at build time, so `swift build` needs only the toolchain. On Linux the candidates are tried in
/// order: OpenBLAS, BLIS, MKL, reference BLAS. Before OpenBLAS loads, `OPENBLAS_CORETYPE` is set for this CPU
/// when the user has not set it, because Debian's OpenBLAS 0.3.21 misdetects recent Xeons and runs 5x slower.
/// `GPT_BLAS=none` disables BLAS; `GPT_BLAS=/path/lib.so` names a library. The library is set to one thread:
/// ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:bias:relu:)`` splits large products across
/// cores itself.
struct BLASLibrary: @unchecked Sendable {
    typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
    ) -> Void

    /// A short name of the library, for `gpt info`.
    let name: String
    private let function: SGEMM

    static let candidates = [
        "libopenblas.so.0", "libopenblas.so", "libblis.so.4", "libblis.so", "libmkl_rt.so", "libblas.so.3",
    ]

    static func load() -> BLASLibrary? {
        let choice = getenv("GPT_BLAS").map { String(cString: $0) }
        if let choice, choice.lowercased() == "none" || choice == "0" { return nil }
        #if canImport(Accelerate)
        return BLASLibrary(name: "Accelerate", function: { order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
            cblas_sgemm(
                CBLAS_ORDER(rawValue: UInt32(order)), CBLAS_TRANSPOSE(rawValue: UInt32(ta)),
                CBLAS_TRANSPOSE(rawValue: UInt32(tb)), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        })
        #elseif canImport(Glibc)
        setOpenBLASCoreTypeIfUnset()
        let names = choice.map { [$0] } ?? candidates
        for name in names {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let symbol = dlsym(handle, "cblas_sgemm") else {
                dlclose(handle)
                continue
            }
            if let setThreads = dlsym(handle, "openblas_set_num_threads") {
                typealias SetThreads = @convention(c) (Int32) -> Void
                unsafeBitCast(setThreads, to: SetThreads.self)(1)
            }
            return BLASLibrary(name: name, function: unsafeBitCast(symbol, to: SGEMM.self))
        }
        return nil
        #else
        return nil
        #endif
    }

    /// Row-major `C = alpha * op(A) * op(B) + beta * C` through `cblas_sgemm`.
    func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let rowMajor: Int32 = 101, noTranspose: Int32 = 111, transpose: Int32 = 112
        function(
            rowMajor, transposeA ? transpose : noTranspose, transposeB ? transpose : noTranspose,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    #if canImport(Glibc)
    /// Sets `OPENBLAS_CORETYPE` from `/proc/cpuinfo` unless the user set it: SKYLAKEX with AVX-512 on Intel,
    /// ZEN on AMD with AVX2, HASWELL on other AVX2 processors.
    static func setOpenBLASCoreTypeIfUnset() {
        guard getenv("OPENBLAS_CORETYPE") == nil, let info = readSmallFile("/proc/cpuinfo") else { return }
        guard let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let amd = info.contains("AuthenticAMD")
        let coreType: String?
        if flags.contains("avx512f") && !amd {
            coreType = "SKYLAKEX"
        } else if flags.contains("avx2") {
            coreType = amd ? "ZEN" : "HASWELL"
        } else {
            coreType = nil
        }
        if let coreType { setenv("OPENBLAS_CORETYPE", coreType, 0) }
    }

    static func readSmallFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let read = fread(&chunk, 1, chunk.count, file)
            if read <= 0 { break }
            bytes.append(contentsOf: chunk[0..<read])
            if bytes.count > 1 << 20 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
    #endif
}
