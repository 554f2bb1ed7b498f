import Foundation

/// At most `parallel` generations at once and at most `queueLimit` waiting; one more is refused (HTTP 503). A
/// waiting request whose client left gives up its place (``abandon(_:)``).
///
/// `running` counts the requests that hold a slot, and only ``acquire(_:)`` (a free slot) and ``release()`` (no one
/// waiting) change it: a released slot passes to the first waiting request as it is, and a request that leaves the
/// queue never held one. So no order of arrivals, departures and completions runs more than `parallel` at once.
/// (A request that left the queue used to be handed a slot "for a moment" to release, and that release passed the
/// slot on while the count kept it: every queued client that left added a generation.)
final class GenerationSlots: @unchecked Sendable {
    let parallel: Int, queueLimit: Int
    private let lock = NSLock()
    private var running = 0
    private var waiting: [(ticket: UUID, continuation: CheckedContinuation<Bool, Error>)] = []
    /// Requests registered but not yet in ``acquire(_:)``, and those of them whose client already left.
    private var pending: Set<UUID> = [], abandoned: Set<UUID> = []

    init(parallel: Int, queueLimit: Int) {
        self.parallel = parallel
        self.queueLimit = queueLimit
    }

    /// Announces a request that will call ``acquire(_:)``, so that a client leaving before then is remembered.
    func register(_ ticket: UUID) { _ = lock.withLock { pending.insert(ticket) } }

    /// Waits for a slot: `true` once the caller holds one (release it once), `false` if the request was abandoned
    /// first (it holds none). Throws a 503 when every slot is taken and the queue is full.
    func acquire(_ ticket: UUID) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            lock.withLock {
                pending.remove(ticket)
                if abandoned.remove(ticket) != nil {
                    continuation.resume(returning: false)
                } else if running < parallel {
                    running += 1
                    continuation.resume(returning: true)
                } else if waiting.count < queueLimit {
                    waiting.append((ticket, continuation))  // a releasing request hands its slot over
                } else {
                    continuation.resume(throwing: APIError(
                        status: 503, message: "the server is busy: \(parallel) generations running and \(waiting.count) waiting; retry shortly",
                        type: "server_error", param: nil, code: "queue_full"))
                }
            }
        }
    }

    /// Takes a waiting request out of the queue (its client left); a request not yet queued is refused when it
    /// arrives. A request that holds a slot is left alone (its cancellation flag stops it, and it releases).
    func abandon(_ ticket: UUID) {
        lock.withLock {
            if let index = waiting.firstIndex(where: { $0.ticket == ticket }) {
                waiting.remove(at: index).continuation.resume(returning: false)
            } else if pending.remove(ticket) != nil {
                abandoned.insert(ticket)
            }
        }
    }

    /// Gives a slot back: to the first waiting request, else to the pool.
    func release() {
        lock.withLock {
            if waiting.isEmpty {
                running = max(0, running - 1)  // a HeldSlot releases once; never below zero whatever a caller does
            } else {
                waiting.removeFirst().continuation.resume(returning: true)
            }
        }
    }

    var load: (running: Int, waiting: Int) { lock.withLock { (running, waiting.count) } }

    /// Whether no request is registered, waiting, or remembered as abandoned (every ticket was accounted for).
    var isSettled: Bool { lock.withLock { waiting.isEmpty && pending.isEmpty && abandoned.isEmpty } }
}

/// A slot held by one request, given back exactly once: by ``release()``, or when the last reference goes.
final class HeldSlot: @unchecked Sendable {
    private let slots: GenerationSlots
    private let lock = NSLock()
    private var held = true

    init(_ slots: GenerationSlots) { self.slots = slots }

    func release() {
        if lock.withLock({ defer { held = false }; return held }) { slots.release() }
    }

    deinit { release() }
}
