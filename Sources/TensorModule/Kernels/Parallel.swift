import Dispatch

/// Number of worker threads kernels split work across (the active processor count).
public let kernelThreadCount: Int = max(1, _activeProcessorCount())

private func _activeProcessorCount() -> Int { _sysconfProcessors() }

/// Wraps a value that is shared with worker threads, each of which touches a disjoint part of it.
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
