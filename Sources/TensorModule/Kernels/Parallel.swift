import Dispatch
import Foundation

/// Number of threads kernels split work across: the active processor count, or `GPT_THREADS` when set.
public let kernelThreadCount: Int = {
    if let text = ProcessInfo.processInfo.environment["GPT_THREADS"], let threads = Int(text), threads > 0 {
        return threads
    }
    return max(1, _sysconfProcessors())
}()

/// Wraps a value that is shared with worker threads, each of which touches a disjoint part of it.
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
