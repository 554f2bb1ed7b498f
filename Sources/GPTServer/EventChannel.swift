import Foundation

/// The events of one streamed completion, from the batch's stepping thread to the response writer: the writer takes
/// every event that waited at once, so that a writer behind the model (a busy machine, many streams) sends them as
/// one chunk per choice in one write instead of a write per token.
///
/// At most `limit` events wait; ``yield(_:)`` refuses one more (a client that stopped reading), and the producer
/// stops its generation.
final class EventChannel: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var pending: [CompletionEvent] = []
    private var finished = false
    private var waiter: CheckedContinuation<[CompletionEvent], Never>?

    init(limit: Int) { self.limit = max(1, limit) }

    /// Adds `event` for the writer; `false` when `limit` events already wait or the channel is finished (dropped).
    @discardableResult
    func yield(_ event: CompletionEvent) -> Bool {
        let (accepted, resumed) = lock.withLock { () -> (Bool, CheckedContinuation<[CompletionEvent], Never>?) in
            guard !finished, pending.count < limit else { return (false, nil) }
            guard let waiter else {
                pending.append(event)
                return (true, nil)
            }
            self.waiter = nil  // a waiting writer found nothing pending: it takes this event alone
            return (true, waiter)
        }
        resumed?.resume(returning: [event])
        return accepted
    }

    /// No more events: the writer drains what waits, then ``next()`` returns nil.
    func finish() {
        let resumed = lock.withLock { () -> CheckedContinuation<[CompletionEvent], Never>? in
            finished = true
            defer { waiter = nil }
            return waiter
        }
        resumed?.resume(returning: [])
    }

    /// Every event that waits (at least one), after waiting for one; nil once finished and drained, or when the
    /// writer's task is cancelled.
    func next() async -> [CompletionEvent]? {
        await withTaskCancellationHandler {
            let events = await withCheckedContinuation { continuation in
                let ready = lock.withLock { () -> [CompletionEvent]? in
                    if !pending.isEmpty || finished || Task.isCancelled {
                        defer { pending.removeAll(keepingCapacity: true) }
                        return pending
                    }
                    waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
            return events.isEmpty ? nil : events
        } onCancel: {
            finish()
        }
    }
}

extension CompletionEvent {
    /// `events` with each run of consecutive pieces of one choice joined into one piece (their texts and tokens in
    /// order): what a writer that fell behind sends as one chunk.
    static func merged(_ events: [CompletionEvent]) -> [CompletionEvent] {
        var out: [CompletionEvent] = []
        out.reserveCapacity(events.count)
        for event in events {
            if case .piece(let index, let text, let tokens) = event, case .piece(index, let previous, let earlier)? = out.last {
                out[out.count - 1] = .piece(index: index, text: previous + text, tokens: earlier + tokens)
            } else {
                out.append(event)
            }
        }
        return out
    }
}
