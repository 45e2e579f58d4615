import CSpinHint
import Foundation
import Synchronization

/// Threads that live as long as the process and take the pieces of `Parallel.forEach`: piece 0
/// on the caller, piece `k` on worker `k - 1`.
///
/// A forward pass splits its work some 250 times, often into pieces of a millisecond or less.
/// Through `DispatchQueue.concurrentPerform`, which wakes a sleeping thread for each, the kernel's
/// scheduler took about 9% of the CPU time on a 5 s input. So a worker spins for
/// `spinNanoseconds` after its piece, within which the next split usually comes, and only then
/// sleeps on its condition variable.
///
/// One split runs at a time; a caller that finds the pool busy (two inputs transcribed at once
/// with `--jobs`) gets `false` and splits its work some other way.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// How long a worker spins for its next piece before it sleeps. On this project's 2-core
    /// machine, a process transcribing a 5 s file 20 times took 9-10% less time than through
    /// Dispatch with any spin from 1 to 20 ms, and about half that gain with 0.1 ms.
    static let spinNanoseconds: UInt64 = 2_000_000

    /// Held by the caller of the split being run, the only one that touches `workers` and `job`.
    private let busy = Atomic<Bool>(false)
    private var workers: [Worker] = []
    /// The split being run; written before the workers' mailboxes are, read after.
    private var job: ((Int) -> Void)?

    /// Runs `body(0)` ... `body(pieces - 1)`, one piece per thread, and returns `true` once all
    /// are done; returns `false` at once, running nothing, when another split holds the pool.
    func run(pieces: Int, _ body: (Int) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        let helpers = self.helpers(pieces - 1)
        withoutActuallyEscaping(body) { body in
            job = body
            for helper in helpers { helper.post() }
            body(0)
            for helper in helpers { helper.waitUntilDone() }
            job = nil
        }
        return true
    }

    /// The first `count` workers, started on first use; called holding `busy`.
    private func helpers(_ count: Int) -> ArraySlice<Worker> {
        while workers.count < count {
            let piece = workers.count + 1
            // Beyond one thread per core (`--threads` above the core count) a spinning worker
            // would take the core from one with work to do, so those sleep at once.
            let worker = Worker(piece: piece, pool: self, spins: piece < ProcessInfo.processInfo.activeProcessorCount)
            workers.append(worker)
            let thread = Thread { worker.loop() }
            thread.name = "transcribe-worker-\(worker.piece)"
            thread.start()
        }
        return workers.prefix(count)
    }

    fileprivate func runPiece(_ piece: Int) { job?(piece) }
}

/// One worker's mailbox: how many splits were posted to it and how many it has done.
private final class Worker: @unchecked Sendable {
    let piece: Int
    unowned let pool: WorkerPool
    /// Whether it spins before sleeping.
    let spins: Bool
    private let posted = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(piece: Int, pool: WorkerPool, spins: Bool) {
        self.piece = piece
        self.pool = pool
        self.spins = spins
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
    }

    /// Hands the worker the pool's current job.
    func post() {
        posted.add(1, ordering: .releasing)
        pthread_mutex_lock(mutex)
        pthread_cond_signal(wakeUp)
        pthread_mutex_unlock(mutex)
    }

    /// Spins until the worker has finished the job last posted to it, yielding the core now and
    /// then in case the worker waits for it.
    func waitUntilDone() {
        let target = posted.load(ordering: .relaxed)
        var checks = 0
        while done.load(ordering: .acquiring) != target {
            spin_hint()
            checks += 1
            if checks % 1024 == 0 { sched_yield() }
        }
    }

    func loop() -> Never {
        var seen = 0
        while true {
            var checks = 0
            var spinStart: UInt64 = 0
            while posted.load(ordering: .acquiring) == seen {
                if spins {
                    spin_hint()
                    checks += 1
                    // The clock is read every 64 checks (a check with its hint is some 20-50 ns).
                    guard checks % 64 == 0 else { continue }
                    let now = DispatchTime.now().uptimeNanoseconds
                    if spinStart == 0 { spinStart = now }
                    guard now - spinStart >= WorkerPool.spinNanoseconds else { continue }
                }
                // Checked again under the mutex that `post` signals under: no wake-up is lost.
                pthread_mutex_lock(mutex)
                while posted.load(ordering: .acquiring) == seen { pthread_cond_wait(wakeUp, mutex) }
                pthread_mutex_unlock(mutex)
            }
            seen += 1
            pool.runPiece(piece)
            done.store(seen, ordering: .releasing)
        }
    }
}
