import CKernels
import Dispatch
import Foundation

/// Number of threads kernels split work across: ``KernelSettings/threads`` of the settings in force (the active
/// processor count, or `GPT_THREADS` when set, unless a scope says otherwise).
public var kernelThreadCount: Int { KernelSettings.current.threads }

/// `GPT_POOL=0` (or a scope's ``KernelSettings/usesWorkerPool``) sends every parallel kernel to Dispatch instead.
var usePool: Bool { KernelSettings.current.usesWorkerPool }

/// Runs `body` over `0..<count` split into contiguous chunks, one per core, and waits for all of them.
///
/// Work smaller than `minimumChunk` items per thread runs inline on the caller's thread, since even an awake worker
/// costs more than it saves on tiny tensors; so does all work under settings of one thread (a part of a batch that
/// a data-parallel step runs on one core).
public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = min(kernelThreadCount, max(1, count / max(1, minimumChunk)))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    @Sendable func range(_ chunk: Int) -> Range<Int> { count * chunk / chunks..<count * (chunk + 1) / chunks }
    withoutActuallyEscaping(body) { escapable in
        let body = KernelSettings.carried(escapable)  // a scope's settings hold on the workers too
        if #available(macOS 15, *), usePool, WorkerPool.shared.run({ chunk in if chunk < chunks { body(range(chunk)) } }) {
            return
        }
        let box = UncheckedSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in box.value(range(chunk)) }
    }
}

/// Runs `body(part)` for every `part` in `0..<parts` on `threads` threads that claim parts one at a time from a
/// shared counter, so a thread the hypervisor slows down does fewer parts instead of holding the others up.
public func parallelForClaiming(_ parts: Int, threads: Int, _ body: (Int) -> Void) {
    guard threads > 1, parts > 1 else {
        for part in 0..<parts { body(part) }
        return
    }
    let counter = SendablePointer(UnsafeMutablePointer<Int>.allocate(capacity: 1))
    counter.base.initialize(to: 0)
    defer { counter.base.deallocate() }
    parallelFor(min(threads, parts)) { _ in
        while case let part = gpt_claim_next(counter.base), part < parts { body(part) }
    }
}

/// Wraps a value that is shared with worker threads, each of which touches a disjoint part of it.
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// How many pieces ``parallelForPieces(counts:pieceSize:_:)`` cuts `counts` into.
public func pieceCount(_ counts: [Int], pieceSize: Int) -> Int {
    counts.reduce(0) { $0 + ($1 + pieceSize - 1) / pieceSize }
}

/// Runs `body(piece, item, range)` over every item of `counts` cut into pieces of at most `pieceSize` elements,
/// numbered in order; the kernel threads claim pieces one at a time (one thread when there is little work). For
/// passes over many tensors of mixed sizes (an optimizer step, a gradient norm): the pieces do not depend on the
/// thread count, so sums kept per piece and added in piece order give the same result on any machine.
public func parallelForPieces(counts: [Int], pieceSize: Int, _ body: (Int, Int, Range<Int>) -> Void) {
    var pieces: [(item: Int, range: Range<Int>)] = []
    for (item, count) in counts.enumerated() {
        for start in stride(from: 0, to: count, by: pieceSize) {
            pieces.append((item, start..<min(count, start + pieceSize)))
        }
    }
    let total = counts.reduce(0, +)
    parallelForClaiming(pieces.count, threads: total >= 2 * pieceSize ? kernelThreadCount : 1) { piece in
        body(piece, pieces[piece].item, pieces[piece].range)
    }
}
