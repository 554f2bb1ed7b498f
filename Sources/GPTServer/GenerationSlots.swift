import Foundation

/// At most `parallel` generations at once and at most `queueLimit` waiting; one more is refused (HTTP 503). A
/// waiting request whose client left gives up its place (``abandon(_:)``).
actor GenerationSlots {
    let parallel: Int, queueLimit: Int
    private var running = 0
    private var waiting: [(ticket: UUID, continuation: CheckedContinuation<Bool, Never>)] = []
    /// Requests registered but not yet in ``acquire(_:)``, and those of them whose client already left.
    private var pending: Set<UUID> = [], abandoned: Set<UUID> = []

    init(parallel: Int, queueLimit: Int) {
        self.parallel = parallel
        self.queueLimit = queueLimit
    }

    /// Waits for a slot; `true` once the caller holds one, `false` if the request was abandoned first (then it
    /// holds one too, for a moment: release it). Throws a 503 when the queue is full.
    /// Announces a request that will call ``acquire(_:)``, so that a client leaving before then is remembered.
    func register(_ ticket: UUID) { pending.insert(ticket) }

    func acquire(_ ticket: UUID) async throws -> Bool {
        pending.remove(ticket)
        if abandoned.remove(ticket) != nil {
            running += 1
            return false
        }
        if running < parallel {
            running += 1
            return true
        }
        guard waiting.count < queueLimit else {
            throw APIError(status: 503, message: "the server is busy: \(parallel) generations running and \(waiting.count) waiting; retry shortly",
                           type: "server_error", param: nil, code: "queue_full")
        }
        return await withCheckedContinuation { waiting.append((ticket, $0)) }  // the releasing request hands its slot over
    }

    /// Takes a waiting request out of the queue (its client left); a request not yet queued is refused when it
    /// arrives. A request already running is left alone (its cancellation flag stops it).
    func abandon(_ ticket: UUID) {
        if let index = waiting.firstIndex(where: { $0.ticket == ticket }) {
            let entry = waiting.remove(at: index)
            running += 1  // balanced by the caller's release, as for a handed-over slot
            entry.continuation.resume(returning: false)
        } else if pending.remove(ticket) != nil {
            abandoned.insert(ticket)
        }
    }

    func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().continuation.resume(returning: true)
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
