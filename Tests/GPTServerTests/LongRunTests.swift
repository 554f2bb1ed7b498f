import Foundation
@testable import GPTServer
import LanguageModels
import TensorModule
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A server that runs for weeks does its CPU work on a bounded set of long-lived threads.
@Suite struct LongRunTests {
    /// Records which threads ran the pool's jobs and how many ran at once.
    final class Witness: @unchecked Sendable {
        private let lock = NSLock()
        private var threads: Set<UInt> = [], running = 0, mostAtOnce = 0

        func begin() {
            lock.withLock {
                threads.insert(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(Unmanaged.passUnretained(Thread.current).toOpaque()))))
                running += 1
                mostAtOnce = max(mostAtOnce, running)
            }
        }

        func end() { lock.withLock { running -= 1 } }
        var distinctThreads: Int { lock.withLock { threads.count } }
        var most: Int { lock.withLock { mostAtOnce } }
    }

    @Test func generationThreadsAreFewAndReused() async throws {
        let pool = GenerationThreads(count: 3)
        let witness = Witness()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for job in 0..<200 {
                group.addTask {
                    try await pool.run {
                        witness.begin()
                        defer { witness.end() }
                        usleep(UInt32(job % 3) * 100)
                        return job * job
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == (0..<200).map { $0 * $0 })
        #expect(pool.threadCount <= 3)
        #expect(witness.distinctThreads <= 3, "\(witness.distinctThreads) threads ran 200 jobs of a pool of 3")
        #expect(witness.most <= 3)
    }

    @Test func aJobsErrorReachesItsCaller() async throws {
        let pool = GenerationThreads(count: 1)
        await #expect(throws: APIError.self) { try await pool.run { throw APIError.invalid("x", "no") } }
        #expect(try await pool.run { 7 } == 7)
    }
}
