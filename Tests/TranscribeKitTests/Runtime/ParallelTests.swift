import Foundation
import Synchronization
import Testing

@testable import TranscribeKit
import TestSupport

/// The splits every kernel runs on: the worker pool, its fallback when busy, and the windows'.
@Suite struct ParallelTests {
    /// How many times each of `0..<count` was visited, and the thread count each range saw.
    final class Visits: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var counts: [Int]
        private(set) var threadCountsSeen: Set<Int> = []
        init(_ count: Int) { counts = Array(repeating: 0, count: count) }

        func visit(_ range: Range<Int>) {
            lock.lock()
            defer { lock.unlock() }
            for index in range { counts[index] += 1 }
            threadCountsSeen.insert(Parallel.threads)
        }
    }

    /// Every index once, in ranges that see one thread (a split never nests), for counts below,
    /// at and above the thread count, and more threads than cores.
    @Test(arguments: [1, 2, 3, 8], [0, 1, 5, 64, 1000])
    func forEachVisitsEveryIndexOnce(threads: Int, count: Int) {
        for _ in 0..<50 {
            let visits = Visits(count)
            Parallel.forEach(count, grain: 4, threads: threads) { visits.visit($0) }
            #expect(visits.counts.allSatisfy { $0 == 1 })
            if min(threads, count / 4) > 1 { #expect(visits.threadCountsSeen == [1]) }
        }
    }

    /// Four threads splitting at once: one holds the pool, the others fall back to Dispatch, and
    /// every split still visits every index once.
    @Test func concurrentSplitsEachVisitEveryIndexOnce() {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for round in 0..<200 {
                let count = 100 + caller * 7 + round % 13
                let visits = Visits(count)
                Parallel.forEach(count, grain: 8, threads: 2) { visits.visit($0) }
                if !visits.counts.allSatisfy({ $0 == 1 }) { failures.add(1, ordering: .relaxed) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    /// Results in order; each job gets its share of the threads (larger shares first), and splits
    /// inside a job use that share.
    @Test func mapKeepsOrderAndSharesTheThreads() {
        let shares = Parallel.map(3, threads: 5) { _ in Parallel.threads }
        #expect(shares == [2, 2, 1])
        #expect(Parallel.map(4, threads: 1) { $0 * $0 } == [0, 1, 4, 9])
        let sums = Parallel.map(4, threads: 4) { job in
            let visits = Visits(100 + job)
            Parallel.forEach(100 + job, grain: 1) { visits.visit($0) }
            return visits.counts.reduce(0, +)
        }
        #expect(sums == [100, 101, 102, 103])
    }
}
