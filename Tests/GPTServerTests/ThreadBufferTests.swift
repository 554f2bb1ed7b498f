import CKernels
import Foundation
import Testing

/// A server that runs for weeks leaves no memory behind per request: kernel scratch buffers go with their thread.
@Suite struct ThreadBufferTests {
    /// Counts the threads that finished their product.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    /// A thread's kernel scratch buffer goes with the thread: Dispatch's workers exit when idle, and a server that
    /// ran each request on a new thread grew by the buffer every time.
    @Test func kernelScratchBuffersAreFreedWhenTheirThreadEnds() async throws {
        guard gpt_simd_level() >= 2 else { return }  // the portable product keeps no buffer
        let before = gpt_thread_buffer_bytes()
        let threads = 64, columns = 1024  // a 1 MB packed block of B per thread
        let finished = Counter()
        for _ in 0..<threads {
            Thread {
                var a: Float = 1, c = [Float](repeating: 0, count: columns)
                let b = [Float](repeating: 1, count: columns)
                _ = gpt_sgemm(gpt_simd_level(), 0, 1, 1, columns, 1, 1, &a, 1, b, 1, 0, &c, columns, nil, 0)
                finished.add()
            }.start()
        }
        while finished.value < threads { try await Task.sleep(for: .milliseconds(5)) }
        // The threads' destructors run as they exit, just after their last line.
        let deadline = Date().addingTimeInterval(5)
        var grown = 0
        repeat {
            grown = Int(gpt_thread_buffer_bytes()) - Int(before)
            if grown < 16 << 20 { break }
            try await Task.sleep(for: .milliseconds(10))
        } while Date() < deadline
        // 64 MB if every ended thread kept its buffer; the margin is for other tests' threads running meanwhile.
        #expect(grown < 16 << 20, "\(grown >> 20) MB of scratch buffers outlived their \(threads) threads")
    }
}
