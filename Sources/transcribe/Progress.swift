import Foundation

/// A one-line progress display on stderr, redrawn in place: files done (and of them, how many
/// failed or were skipped), audio processed, speed and time left. Only when stderr is a terminal
/// and --quiet is not given.
final class Progress: @unchecked Sendable {
    private let total: Int
    private let enabled: Bool
    private let start = Date()
    private let lock = NSLock()
    private var done = 0
    private var failed = 0
    private var skipped = 0
    private var audioSeconds = 0.0
    /// The line last drawn, and whether it is on the screen now.
    private var line = ""
    private var shown = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled && Diagnostics.isTerminal
    }

    enum Result { case transcribed, failed, skipped }

    /// One more input finished, with `seconds` of audio.
    func advance(_ result: Result, audio seconds: Double = 0) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        done += 1
        switch result {
        case .transcribed: break
        case .failed: failed += 1
        case .skipped: skipped += 1
        }
        audioSeconds += seconds
        let elapsed = Date().timeIntervalSince(start)
        let speed = elapsed > 0 ? audioSeconds / elapsed : 0
        let left = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let counts = [failed > 0 ? "\(failed) failed" : nil, skipped > 0 ? "\(skipped) skipped" : nil].compactMap { $0 }
        let line: String =
            "\(done)/\(total) files" + (counts.isEmpty ? "" : " (\(counts.joined(separator: ", ")))")
            + ", \(Self.clock(audioSeconds)) of audio, "
            + String(format: "%.1fx real time", speed) + ", \(Self.clock(left)) left"
        self.line = line
        shown = true
        Diagnostics.write("\r\u{1B}[K" + line)
    }

    /// Takes the line off the screen before anything else is written there (results on stdout,
    /// messages on stderr), so that nothing is ever printed onto it; the next file redraws it.
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
