import Foundation

/// A fixed set of long-lived threads for CPU-bound work (tokenizing prompts and `/tokenize` texts; generation runs
/// in the ``DecodingBatch``'s own thread): neither one of the HTTP
/// event loops nor one of the threads behind Swift's cooperative pool (on Linux a concurrent `DispatchQueue` runs on
/// those very threads, so two generations on two cores froze every other request), so health checks and 503s answer
/// while models compute.
///
/// At most `count` threads, made as work first needs them and then reused for the life of the pool: a thread per
/// request grew the server by 68-277 KB a completion, as each new thread's kernel scratch buffers (and Foundation's
/// per-thread state) were left behind. Completions hold a ``GenerationSlots`` slot while they tokenize; a
/// `/tokenize` body is at most `--max-prompt-bytes`.
final class GenerationThreads: @unchecked Sendable {
    let count: Int
    private let queue: JobQueue

    init(count: Int) {
        self.count = max(1, count)
        queue = JobQueue()
    }

    deinit { queue.shutDown() }

    /// Runs `work` on one of the pool's threads and returns its result.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue { continuation.resume(with: Result(catching: work)) }
        }
    }

    /// Queues `job` for the next free thread, making a thread if none is free and fewer than `count` exist.
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        if queue.push(job, threadLimit: count) {
            let queue = self.queue
            let thread = Thread { queue.work() }
            thread.name = "swift-gpt.generation"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Threads made so far (at most ``count``).
    var threadCount: Int { queue.threadCount }
}

/// The pool's jobs and threads, apart from the pool so that the threads do not keep it alive.
private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var next = 0
    private var idle = 0, threads = 0
    private var closed = false

    /// Adds `job`; returns whether the caller should start a thread for it: more jobs wait than threads are idle
    /// (a woken thread counts as idle until it takes its job), and fewer than `threadLimit` exist.
    func push(_ job: @escaping @Sendable () -> Void, threadLimit: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        jobs.append(job)
        condition.signal()
        guard jobs.count - next > idle, threads < threadLimit else { return false }
        threads += 1
        return true
    }

    /// A thread's loop: runs jobs in order of arrival until the pool is gone.
    func work() {
        while let job = take() { job() }
    }

    private func take() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while next == jobs.count && !closed {
            idle += 1
            condition.wait()
            idle -= 1
        }
        guard next < jobs.count else {
            threads -= 1
            return nil
        }
        let job = jobs[next]
        next += 1
        if next == jobs.count {  // drained: drop the run jobs' closures
            jobs.removeAll(keepingCapacity: true)
            next = 0
        }
        return job
    }

    func shutDown() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    var threadCount: Int { condition.withLock { threads } }
}
