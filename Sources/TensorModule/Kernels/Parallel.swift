import Dispatch

/// Number of worker threads kernels split work across (the active processor count).
public let kernelThreadCount: Int = max(1, _activeProcessorCount())

private func _activeProcessorCount() -> Int { _sysconfProcessors() }

/// Runs `body` over `0..<count` split into contiguous chunks, one per worker thread, and waits for all of them.
///
/// Work smaller than `minimumChunk` items per thread runs inline on the caller's thread, since waking workers
/// costs more than it saves on tiny tensors.
@inlinable
public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = min(kernelThreadCount, max(1, count / max(1, minimumChunk)))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendableBox(escapable)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            box.value(start..<end)
        }
    }
}

/// Wraps a value that is shared with worker threads, each of which touches a disjoint part of it.
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
