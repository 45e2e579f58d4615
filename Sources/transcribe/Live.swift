import Foundation
import TranscribeKit

/// `--live`: one endless input (a microphone through `arecord`, a stream through `ffmpeg`)
/// transcribed as it arrives. Final words go to stdout as they are decided; on a terminal with
/// txt, the words not yet final follow them dimmed on the line being written, and are replaced as
/// they change. Into a pipe only final text goes, one line per segment (one record per segment
/// with jsonl).
final class LiveRun: @unchecked Sendable {
    let recognition: any LiveRecognition
    let source: any SampleSource
    let inputName: String
    private var output: LiveOutput
    /// stdout is a terminal and the format txt: the line in progress is redrawn in place.
    private let redraws: Bool
    private let lock = NSLock()
    /// The final words of the line on screen.
    private var line = ""
    private var heard = 0.0
    private var failed: String?

    init(recognition: any LiveRecognition, source: any SampleSource, inputName: String, output: LiveOutput) {
        self.recognition = recognition
        self.source = source
        self.inputName = inputName
        self.output = output
        redraws = output.format == .txt && isatty(STDOUT_FILENO) == 1
    }

    /// Reads and transcribes to the end of the input; false when it could not (one line on stderr).
    ///
    /// A thread reads the input as it comes; each step of the recognizer takes everything read
    /// since the one before, so that a step slower than the audio it covers makes the next one
    /// cover more, and the delay never grows.
    func run() -> Bool {
        write(output.header)
        let received = ReceivedSamples()
        // The recognizing thread never touches the source.
        nonisolated(unsafe) let source = source
        Thread.detachNewThread {
            do {
                while case let block = try source.next(), !block.isEmpty { received.append(block) }
                received.end(nil)
            } catch {
                received.end(error)
            }
        }
        do {
            while let samples = try received.takeAll() {
                if let update = try recognition.feed(samples) { show(update) }
                if failed != nil { return false }
            }
            let last = try recognition.finish()
            show(last)
            end()
        } catch let error as AudioError {
            end()
            Diagnostics.write("transcribe: \(inputName): \(error.reason)\n")
            return false
        } catch {
            end()
            Diagnostics.write("transcribe: \(inputName): \(error)\n")
            return false
        }
        return failed == nil
    }

    /// Ctrl-C or SIGTERM: the segment in progress is ended with the words final so far.
    func interrupt() {
        let deadline = Date().addingTimeInterval(1)
        while !lock.try() {
            guard Date() < deadline else { return }
            usleep(1000)
        }
        endLocked()
    }

    private func show(_ update: LiveUpdate) {
        lock.lock()
        defer { lock.unlock() }
        heard = update.heard
        let text = output.add(update.confirmed)
        guard redraws else {
            write(text)
            return
        }
        // Lines the new words ended are written whole; the one in progress is redrawn with the
        // guess after it.
        let lines = (line + text).components(separatedBy: "\n")
        var screen = "\r\u{1B}[K" + lines.dropLast().map { $0 + "\n" }.joined()
        line = lines.last ?? ""
        let guess = update.tentative.map(\.text).joined(separator: " ")
        screen += Self.fitted(line, guess: guess, width: Self.terminalWidth())
        write(screen)
    }

    private func end() {
        lock.lock()
        defer { lock.unlock() }
        endLocked()
    }

    private func endLocked() {
        let text = output.finish(heard: heard)
        write(redraws ? "\r\u{1B}[K" + line + text : text)
        line = ""
    }

    /// The line and the guess after it (dimmed) within `width` columns: the end of it where it
    /// is longer, after an ellipsis.
    static func fitted(_ line: String, guess: String, width: Int) -> String {
        let separator = line.isEmpty || guess.isEmpty ? "" : " "
        let visible = line.count + separator.count + guess.count
        guard visible >= width else { return line + separator + dim(guess) }
        let keep = max(0, width - 2)
        let tail = Array(line + separator + guess).suffix(keep)
        let guessPart = min(tail.count, separator.count + guess.count)
        return "…" + String(tail.dropLast(guessPart)) + dim(String(tail.suffix(guessPart)))
    }

    private static func dim(_ text: String) -> String { text.isEmpty ? "" : "\u{1B}[2m" + text + "\u{1B}[22m" }

    private static func terminalWidth() -> Int {
        var size = winsize()
        return ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    /// Writes to stdout; a failure (a full disk) is one line on stderr and ends the run.
    private func write(_ text: String) {
        guard failed == nil, !text.isEmpty else { return }
        let code = Array(text.utf8).withUnsafeBytes { writeAll(STDOUT_FILENO, $0) }
        guard code != 0 else { return }
        failed = "stdout: \(String(cString: strerror(code)))"
        Diagnostics.write("transcribe: \(failed!)\n")
    }
}

/// Samples read and not yet taken, handed from the reading thread to the recognizing one.
private final class ReceivedSamples: @unchecked Sendable {
    private let condition = NSCondition()
    private var samples: [Float] = []
    private var ended = false
    private var error: (any Error)?

    func append(_ block: [Float]) {
        condition.lock()
        samples += block
        condition.signal()
        condition.unlock()
    }

    /// The input ended, or could not be read further.
    func end(_ error: (any Error)?) {
        condition.lock()
        ended = true
        self.error = error
        condition.signal()
        condition.unlock()
    }

    /// Every sample read since the last call, waiting for one; nil at the end. A read error
    /// is thrown once the samples before it are taken.
    func takeAll() throws -> [Float]? {
        condition.lock()
        defer { condition.unlock() }
        while samples.isEmpty && !ended { condition.wait() }
        if !samples.isEmpty {
            defer { samples = [] }
            return samples
        }
        if let error { throw error }
        return nil
    }
}
