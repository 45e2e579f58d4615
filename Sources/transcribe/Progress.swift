import Foundation

/// A one-line progress display on stderr, redrawn in place: files done (and of them, how many
/// failed or were skipped), audio processed (within the files in progress too), speed, and time
/// left by the audio still to do. Only when stderr is a terminal and --quiet is not given.
final class Progress: @unchecked Sendable {
    private let total: Int
    private let enabled: Bool
    private let start = Date()
    private let lock = NSLock()
    private var done = 0
    private var failed = 0
    private var skipped = 0
    /// Seconds of audio in the inputs finished.
    private var finishedAudio = 0.0
    /// The inputs in progress: seconds heard so far, and how long each is (nil: not known, as
    /// for a pipe).
    private var inProgress: [Int: (heard: Double, duration: Double?)] = [:]
    /// The lengths known of the inputs started, for the mean length of those not yet started.
    private var knownLengths = (seconds: 0.0, count: 0)
    /// The line last drawn, whether it is on the screen now, and when it was drawn.
    private var line = ""
    private var shown = false
    private var drawn = Date.distantPast
    private var held = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled && Diagnostics.isTerminal
    }

    enum Result { case transcribed, failed, skipped }

    /// Input `index` was opened; its header says it lasts `duration` seconds, if it says.
    func started(_ index: Int, duration: Double?) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        inProgress[index] = (0, duration)
        if let duration {
            knownLengths.seconds += duration
            knownLengths.count += 1
        }
    }

    /// Input `index` has been worked through up to `seconds`; redrawn at most 5 times a second.
    func heard(_ index: Int, seconds: Double) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        inProgress[index]?.heard = seconds
        if Date().timeIntervalSince(drawn) >= 0.2 { draw() }
    }

    /// While results on the terminal end mid-line (a txt line still growing), the line is not
    /// drawn: it would be drawn over them.
    func hold(_ held: Bool) {
        lock.lock()
        defer { lock.unlock() }
        self.held = held
    }

    /// Input `index` finished, with `seconds` of audio.
    func advance(_ index: Int, _ result: Result, audio seconds: Double = 0) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        done += 1
        switch result {
        case .transcribed: break
        case .failed: failed += 1
        case .skipped: skipped += 1
        }
        inProgress[index] = nil
        finishedAudio += seconds
        draw()
    }

    private func draw() {
        guard !held else { return }
        let elapsed = Date().timeIntervalSince(start)
        let heard = finishedAudio + inProgress.values.reduce(0) { $0 + $1.heard }
        let speed = elapsed > 0 ? heard / elapsed : 0
        let counts = [failed > 0 ? "\(failed) failed" : nil, skipped > 0 ? "\(skipped) skipped" : nil].compactMap { $0 }
        var line =
            "\(done)/\(total) files" + (counts.isEmpty ? "" : " (\(counts.joined(separator: ", ")))")
            + ", \(Self.clock(heard)) of audio"
        if speed > 0 { line += String(format: ", %.1fx real time", speed) }
        if let left = secondsLeft(speed: speed, elapsed: elapsed) { line += ", \(Self.clock(left)) left" }
        self.line = line
        shown = true
        drawn = Date()
        Diagnostics.write("\r\u{1B}[K" + line)
    }

    /// The audio still to do at the speed so far: the rest of the inputs in progress, and the
    /// inputs not started at the mean length of those whose length is known. Without any length
    /// known, by files; nil before anything can be told.
    private func secondsLeft(speed: Double, elapsed: Double) -> Double? {
        let notStarted = total - done - inProgress.count
        guard knownLengths.count > 0 else {
            return done > 0 ? elapsed / Double(done) * Double(total - done) : nil
        }
        guard speed > 0 else { return nil }
        let mean = knownLengths.seconds / Double(knownLengths.count)
        let audioLeft =
            inProgress.values.reduce(0) { $0 + max(0, ($1.duration ?? mean) - $1.heard) } + Double(notStarted) * mean
        return audioLeft / speed
    }

    /// Takes the line off the screen before anything else is written there (results on stdout,
    /// messages on stderr), so that nothing is ever printed onto it; the next update redraws it.
    func clear() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if shown { Diagnostics.write("\r\u{1B}[K") }
        shown = false
    }

    /// Ends the display: the last line stays on the screen, with a newline.
    func finish() {
        guard enabled, done > 0 else { return }
        Diagnostics.write("\r\u{1B}[K" + line + "\n")
    }

    static func clock(_ seconds: Double) -> String {
        let total = Int(max(0, seconds.isFinite ? seconds : 0).rounded())
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}
