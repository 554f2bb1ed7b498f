import Dispatch
import Foundation

/// At most `parallel` generations at once and at most `queueLimit` waiting; one more is refused (HTTP 503).
actor GenerationSlots {
    let parallel: Int, queueLimit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(parallel: Int, queueLimit: Int) {
        self.parallel = parallel
        self.queueLimit = queueLimit
    }

    func acquire() async throws {
        if running < parallel {
            running += 1
            return
        }
        guard waiting.count < queueLimit else {
            throw APIError(status: 503, message: "the server is busy: \(parallel) generations running and \(waiting.count) waiting; retry shortly",
                           type: "server_error", param: nil, code: "queue_full")
        }
        await withCheckedContinuation { waiting.append($0) }  // the releasing request hands its slot over
    }

    func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }

    var load: (running: Int, waiting: Int) { (running, waiting.count) }
}

/// Runs CPU-bound generation on a thread of its own, neither one of the HTTP event loops nor one of the threads
/// behind Swift's cooperative pool (on Linux a concurrent `DispatchQueue` runs on those very threads, so two
/// generations on two cores froze every other request): health checks and 503s answer while models compute.
func runOnGenerationThread(_ work: @escaping @Sendable () -> Void) {
    let thread = Thread(block: work)
    thread.name = "swift-gpt.generation"
    thread.stackSize = 8 << 20
    thread.start()
}
