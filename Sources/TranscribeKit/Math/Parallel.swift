import Foundation
import Synchronization

/// Splits elementwise work (activations, norms, softmax) over the cores that the matrix
/// products use, so that no core idles between two sgemm calls.
public enum Parallel {
    private static let threadCount = Atomic<Int>(ProcessInfo.processInfo.activeProcessorCount)

    /// Threads for products and elementwise work (default: all cores); set at start-up through
    /// `BLAS.setThreads`. Changing it while work runs is safe: a split already made stays, and
    /// results do not depend on the count.
    public static var threads: Int {
        get { threadCount.load(ordering: .relaxed) }
        set { threadCount.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Calls `body` on disjoint ranges covering `0..<count`, in parallel when there is enough
    /// work: at least `grain` items per range.
    static func forEach(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(threads, max(1, count / max(grain, 1)))
        guard chunks > 1 else {
            body(0..<count)
            return
        }
        // The ranges are disjoint, so the callers' buffers are never written from two threads.
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                shared.value((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
            }
        }
    }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
