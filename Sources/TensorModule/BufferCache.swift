import Foundation

/// Large tensor buffers kept after their tensors die, handed to the next tensor of exactly the same size.
///
/// A training step allocates the same activations and gradients every time. Without reuse, each large buffer is a
/// fresh `mmap` that the kernel has to fault in and zero page by page, which was 19% of a `lecture` step; with it,
/// the second step onwards reuses the first step's buffers. Buffers under ``minimumBytes`` go to `malloc` as usual.
///
/// Each idle buffer remembers the thread that released it, and a thread asking for a size gets its own idle buffer
/// of that size first (the most recently released): the data-parallel parts of a step each run on their own core,
/// and a buffer that another core wrote last has its lines in that core's cache (measured: the stores of a residual
/// sum into such a buffer ran at about 4 GB/s).
///
/// The cache holds at most ``limitBytes`` of idle buffers (a quarter of physical memory, at most 8 GiB; the
/// environment variable `GPT_BUFFER_CACHE_MB` overrides it, 0 turns the cache off). A buffer that does not fit is
/// freed at once, so idle memory never grows past the limit. ``trim()`` frees everything idle.
public final class BufferCache: @unchecked Sendable {
    public static let shared = BufferCache(limitBytes: defaultLimit())

    public static let minimumBytes = 1 << 16
    public let limitBytes: Int
    private let lock = NSLock()
    private var idle: [Int: [(buffer: UnsafeMutableRawPointer, owner: pthread_t)]] = [:]
    private var idleBytes = 0

    public init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// Idle bytes held right now.
    public var heldBytes: Int { lock.withLock { idleBytes } }

    /// Idle buffers of exactly `byteCount` bytes held right now.
    public func idleBuffers(byteCount: Int) -> Int { lock.withLock { idle[byteCount]?.count ?? 0 } }

    /// A 64-byte aligned buffer of `byteCount` bytes, reused if an idle one of that exact size exists.
    public func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= Self.minimumBytes {
            let thread = pthread_self()
            let reused: UnsafeMutableRawPointer? = lock.withLock {
                guard let candidates = idle[byteCount], !candidates.isEmpty else { return nil }
                let index = candidates.lastIndex { pthread_equal($0.owner, thread) != 0 } ?? candidates.count - 1
                idleBytes -= byteCount
                return idle[byteCount]!.remove(at: index).buffer
            }
            if let reused { return reused }
        }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    /// Takes back a buffer from ``allocate(byteCount:)``: kept if large and there is room, else freed.
    public func release(_ buffer: UnsafeMutableRawPointer, byteCount: Int) {
        if byteCount >= Self.minimumBytes {
            let thread = pthread_self()
            let kept = lock.withLock {
                guard idleBytes + byteCount <= limitBytes else { return false }
                idle[byteCount, default: []].append((buffer, thread))
                idleBytes += byteCount
                return true
            }
            if kept { return }
        }
        buffer.deallocate()
    }

    /// Frees every idle buffer (for example after training, before serving).
    public func trim() {
        let buffers = lock.withLock {
            defer { idle = [:]; idleBytes = 0 }
            return idle.values.flatMap { $0.map(\.buffer) }
        }
        for buffer in buffers { buffer.deallocate() }
    }

    private static func defaultLimit() -> Int {
        if let text = ProcessInfo.processInfo.environment["GPT_BUFFER_CACHE_MB"], let megabytes = Int(text) {
            return max(0, megabytes) << 20
        }
        return Int(min(ProcessInfo.processInfo.physicalMemory / 4, 8 << 30))
    }
}
