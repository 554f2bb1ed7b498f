import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Persistent worker threads that stay awake between kernels.
///
/// A training step or a decoded token runs dozens of short parallel kernels back to back. Handing each one to
/// Dispatch wakes a parked thread every time, which costs tens of microseconds on a virtual machine (the idle
/// core has to be woken by the hypervisor); decoding one token of the lecture model spent about half its time
/// that way. These workers instead spin on a generation counter for a short while after each job, so the next
/// kernel starts within a fraction of a microsecond, and sleep on a condition only after `spinDuration` idle.
///
/// One job runs at a time: a call that finds the pool busy (another thread's kernel, or a kernel started from
/// inside a job) returns `false` and the caller falls back to Dispatch.
@available(macOS 15, *)
final class WorkerPool: @unchecked Sendable {
    /// The process-wide pool with one worker per core beyond the caller's.
    static let shared = WorkerPool(workers: kernelThreadCount - 1)

    let workerCount: Int
    /// How long an idle worker polls for the next job before it sleeps.
    let spinDuration: Duration = .microseconds(300)

    private let generation = Atomic<Int>(0)
    /// Chunks claimed in the current job, one bit per chunk index (the caller's chunk 0 is never in it).
    private let claims = Atomic<Int>(0)
    /// Worker chunks of the current job not yet finished.
    private let remaining = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleeping = NSCondition()
    // Written by the caller before it publishes a new job; read only by whoever claims one of its chunks.
    private var job: ((Int) -> Void)?

    init(workers: Int) {
        workerCount = min(max(0, workers), Int.bitWidth - 2)
        for index in 0..<workerCount {
            let thread = Thread { [unowned self] in self.work(index: index + 1) }
            thread.name = "swift-gpt worker \(index + 1)"
            thread.stackSize = 1 << 22
            thread.start()
        }
    }

    /// Runs `body(i)` for every `i` in `0...workerCount`, index 0 on the calling thread, and returns when all have
    /// finished. Returns `false` without running anything if the pool is busy.
    ///
    /// Each other index is claimed by its worker or, if that worker has not started it by the time the caller is
    /// done with index 0 (it is asleep, or the cores are shared with another busy process), by the caller: nobody
    /// ever waits for a thread that is not running.
    func run(_ body: (Int) -> Void) -> Bool {
        guard workerCount > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            remaining.store(workerCount, ordering: .relaxed)
            claims.store(0, ordering: .releasing)
            generation.add(1, ordering: .releasing)
            sleeping.lock()
            sleeping.broadcast()
            sleeping.unlock()
            escapable(0)
            for index in 1...workerCount where claim(index) {
                escapable(index)
                remaining.subtract(1, ordering: .releasing)
            }
            var polls = 0
            while remaining.load(ordering: .acquiring) > 0 {
                polls += 1
                if polls > 2048 { sched_yield() }  // a claimed chunk whose worker lost its core
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    /// Marks chunk `index` of the current job as taken; `true` for the one thread that gets it.
    private func claim(_ index: Int) -> Bool {
        claims.bitwiseOr(1 << index, ordering: .acquiringAndReleasing).oldValue & (1 << index) == 0
    }

    /// Calls the current job; not inlined, so that this thread's reference to the closure is gone before the
    /// caller can learn that the chunk is done (the caller's `withoutActuallyEscaping` checks for that).
    @inline(never)
    private func runJob(_ index: Int) { job?(index) }

    private func work(index: Int) {
        var seen = 0
        let clock = ContinuousClock()
        while true {
            var idleSince = clock.now, polls = 0
            while generation.load(ordering: .acquiring) == seen {
                polls += 1
                // No `sched_yield` while polling: a worker in the middle of one starts late, and the caller then
                // takes its chunk and runs the whole kernel alone (measured ~10% slower decoding).
                guard polls & 255 == 0 else { continue }
                guard clock.now - idleSince > spinDuration else { continue }
                sleeping.lock()
                while generation.load(ordering: .acquiring) == seen { sleeping.wait() }
                sleeping.unlock()
                idleSince = clock.now
            }
            seen = generation.load(ordering: .acquiring)
            if claim(index) {
                runJob(index)
                remaining.subtract(1, ordering: .releasing)
            }
        }
    }
}
