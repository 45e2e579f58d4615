import Foundation
import Synchronization

/// Splits elementwise work (activations, norms, softmax) over the cores that the matrix
/// products use, so that no core idles between two sgemm calls.
public enum Parallel {
    private static let threadCount = Atomic<Int>(ProcessInfo.processInfo.activeProcessorCount)

    /// Threads for products and elementwise work (default: all cores); set at start-up through
    /// `BLAS.setThreads`. Changing it while work runs is safe: a split already made stays, and
    /// results do not depend on the count. On a thread of a split (`forEach`, `map`) it is that
    /// thread's share instead: 1 inside `forEach`, so that a split never nests.
    public static var threads: Int {
        get { ThreadShare.current ?? threadCount.load(ordering: .relaxed) }
        set { threadCount.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Calls `body` on disjoint ranges covering `0..<count`, in parallel when there is enough
    /// work: at least `grain` items per range, on up to `threads` threads.
    static func forEach(_ count: Int, grain: Int, threads: Int = threads, _ body: (Range<Int>) -> Void) {
        let most = max(1, count / max(grain, 1))
        let chunks = min(threads, most)
        guard chunks > 1 else {
            body(0..<count)
            return
        }
        // Each thread takes the next of up to four blocks per thread as soon as it is free, so
        // that a thread that starts late (a worker waking up) or runs slower leaves the rest to
        // the others rather than being waited for. The blocks are disjoint, so the callers'
        // buffers are never written from two threads.
        let blocks = min(most, 4 * chunks)
        let taken = BlockCounter()
        withoutActuallyEscaping(body) { body in
            let piece = { (_: Int) in
                ThreadShare.with(1) {
                    while case let block = taken.next(), block < blocks {
                        body((count * block / blocks)..<(count * (block + 1) / blocks))
                    }
                }
            }
            if WorkerPool.shared.run(pieces: chunks, piece) { return }
            // Another split holds the pool's threads.
            let shared = UncheckedSendable(piece)
            DispatchQueue.concurrentPerform(iterations: chunks) { shared.value($0) }
        }
    }

    /// `body()` on the calling thread alone: the products and splits inside it take one thread.
    /// For work too small to be worth a hand-off to another thread.
    static func alone<Result>(_ body: () -> Result) -> Result {
        var result: Result?
        ThreadShare.with(1) { result = body() }
        return result!
    }

    /// `body(0), ..., body(count - 1)` at once, each on its own thread with an equal share of
    /// `threads` for the work it splits in turn; in order on this thread when there is one thread
    /// or one item. For independent jobs too small to keep every thread busy when split one by
    /// one (the windows of a long input).
    static func map<Result>(_ count: Int, threads total: Int = threads, _ body: (Int) -> Result) -> [Result] {
        guard count > 1, total > 1 else { return (0..<count).map(body) }
        var results = [Result?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buffer in
            // Each index is written by its own iteration only.
            let output = UncheckedSendable(buffer)
            withoutActuallyEscaping(body) { body in
                let shared = UncheckedSendable(body)
                DispatchQueue.concurrentPerform(iterations: count) { index in
                    // Shares differ by at most one thread, the larger ones first.
                    let share = max(1, total / count + (index < total % count ? 1 : 0))
                    ThreadShare.with(share) { output.value[index] = shared.value(index) }
                }
            }
        }
        return results.map { $0! }
    }
}

/// The share of `Parallel.threads` the current thread may use, where a split has set one:
/// thread-local, so that the threads of one split do not see each other's.
private enum ThreadShare {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    static var current: Int? {
        guard let value = pthread_getspecific(key) else { return nil }
        return Int(bitPattern: value)
    }

    /// Runs `body` with the current thread's share set to `threads`, then restores the previous one
    /// (a split's thread can be the caller's, or a pool thread that runs other work later).
    static func with(_ threads: Int, _ body: () -> Void) {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: threads))
        defer { pthread_setspecific(key, previous) }
        body()
    }
}

/// The blocks of one split handed out so far.
private final class BlockCounter: Sendable {
    private let count = Atomic<Int>(0)

    /// The next block's index (each index once, in order).
    func next() -> Int { count.add(1, ordering: .relaxed).oldValue }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
