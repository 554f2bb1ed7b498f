import Foundation
import Testing
import TensorModule
import _TestSupport

/// The kernels' runtime knobs as a value a test sets for a scope: seen by the caller and by the workers of every
/// parallel loop inside it, gone after it, and without effect on the results beyond rounding.
@Suite struct KernelSettingsTests {
    static var portableTwoThreads: KernelSettings {
        var settings = KernelSettings.current
        (settings.threads, settings.instructions, settings.usesBLAS) = (2, .portable, false)
        return settings
    }

    @Test func aScopeHoldsOnTheWorkersAndEndsWithIt() {
        let outside = VectorInstructions.widest
        let seen = KernelSettings.with(Self.portableTwoThreads) { () -> [VectorInstructions] in
            #expect(kernelThreadCount == 2 && MatrixBackend.current == .cKernel)
            let box = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
            defer { box.deallocate() }
            let caller = pthread_self()
            // Tests run in parallel and share the workers: a busy worker leaves both chunks to the caller, so
            // try until one chunk runs on a worker.
            for _ in 0..<20 {
                parallelFor(2) { range in
                    usleep(20_000)  // long enough that a free worker takes the other chunk
                    for chunk in range {
                        box[2 * chunk] = VectorInstructions.widest.rawValue
                        box[2 * chunk + 1] = pthread_equal(pthread_self(), caller) != 0 ? 1 : 0
                    }
                }
                if box[1] + box[3] == 1 { break }
            }
            #expect(box[1] + box[3] == 1, "one chunk on the caller, one on a worker")
            return [box[0], box[2]].map { VectorInstructions(rawValue: $0)! }
        }
        #expect(seen == [.portable, .portable], "both chunks ran with the scope's instructions")
        #expect(VectorInstructions.widest == outside && KernelSettings.current == KernelSettings.process)
    }

    @Test func oneThreadWithThePortableKernelGivesTheSameProduct() {
        let a = randomTensor([37, 29], seed: 1, requiresGrad: false), b = randomTensor([23, 29], seed: 2, requiresGrad: false)
        let usual = a.linear(weight: b).values
        var settings = Self.portableTwoThreads
        settings.threads = 1
        let scoped = KernelSettings.with(settings) { a.linear(weight: b).values }
        #expect(compare(scoped, usual, absolute: 1e-5, relative: 1e-5).passed)
    }

    @Test func aScopeWithoutTheBufferCacheLeavesItAlone() {
        let count = 70_001, bytes = 70_001 * 4  // a size no other test allocates
        var settings = KernelSettings.current
        settings.usesBufferCache = false
        KernelSettings.with(settings) {
            for _ in 0..<3 { _ = TensorStorage(zeros: count) }  // freed at once, not kept
        }
        #expect(BufferCache.shared.idleBuffers(byteCount: bytes) == 0, "nothing was given back to the cache")
        _ = TensorStorage(zeros: count)  // outside the scope: kept for reuse
        #expect(BufferCache.shared.idleBuffers(byteCount: bytes) == (BufferCache.shared.limitBytes > 0 ? 1 : 0))
    }

    @Test func concurrentScopesDoNotMeet() async {
        var one = KernelSettings.current
        one.threads = 1
        var three = KernelSettings.current
        three.threads = 3
        async let first = KernelSettings.with(one) { kernelThreadCount }
        async let second = KernelSettings.with(three) { kernelThreadCount }
        let results = await (first, second)
        #expect(results == (1, 3))
    }
}

/// The bfloat16 units' detection agrees with what they need: both need AVX-512 (and AMX, on Linux, the kernel's
/// permission, which a second query does not ask again).
@Suite struct BFloat16UnitsTests {
    @Test func unitsNeedAVX512() {
        let units = BFloat16Units.machine
        if units.avx512BF16 || units.amx { #expect(VectorInstructions.machine == .avx512) }
        #expect(BFloat16Units.machine == units)
        #expect(units.description.contains("AVX512-BF16") && units.description.contains("AMX-BF16"))
    }
}
