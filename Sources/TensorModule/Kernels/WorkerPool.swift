import Dispatch
import Foundation
import Synchronization

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
    private let pending = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleeping = NSCondition()
    // Written by the caller before it publishes a new generation; read by workers after they observe it.
    private var job: ((Int) -> Void)?

    init(workers: Int) {
        workerCount = max(0, workers)
        for index in 0..<workerCount {
            let thread = Thread { [unowned self] in self.work(index: index + 1) }
            thread.name = "swift-gpt worker \(index + 1)"
            thread.stackSize = 1 << 22
            thread.start()
        }
    }

    /// Runs `body(i)` for every `i` in `0...workerCount`: index 0 on the calling thread, the others on the
    /// workers, and returns when all have finished. Returns `false` without running anything if the pool is busy.
    func run(_ body: (Int) -> Void) -> Bool {
        guard workerCount > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            pending.store(workerCount, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            sleeping.lock()
            sleeping.broadcast()
            sleeping.unlock()
            escapable(0)
            while pending.load(ordering: .acquiring) > 0 {}
            job = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    private func work(index: Int) {
        var seen = 0
        let clock = ContinuousClock()
        while true {
            var idleSince = clock.now, polls = 0
            while generation.load(ordering: .acquiring) == seen {
                polls += 1
                guard polls & 255 == 0, clock.now - idleSince > spinDuration else { continue }
                sleeping.lock()
                while generation.load(ordering: .acquiring) == seen { sleeping.wait() }
                sleeping.unlock()
                idleSince = clock.now
            }
            seen = generation.load(ordering: .acquiring)
            job?(index)
            pending.subtract(1, ordering: .releasing)
        }
    }
}

/// `GPT_POOL=0` sends every parallel kernel to Dispatch instead (for comparison, or where spinning is unwelcome).
let usePool = ProcessInfo.processInfo.environment["GPT_POOL"] != "0"

/// Runs `body` over `0..<count` split into contiguous chunks, one per core, and waits for all of them.
///
/// Work smaller than `minimumChunk` items per thread runs inline on the caller's thread, since even an awake worker
/// costs more than it saves on tiny tensors.
public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = min(kernelThreadCount, max(1, count / max(1, minimumChunk)))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    @Sendable func range(_ chunk: Int) -> Range<Int> { count * chunk / chunks..<count * (chunk + 1) / chunks }
    if #available(macOS 15, *), usePool, WorkerPool.shared.run({ chunk in if chunk < chunks { body(range(chunk)) } }) {
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendableBox(escapable)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in box.value(range(chunk)) }
    }
}
