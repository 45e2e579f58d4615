import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// `--live` as a user runs it: headerless PCM or a WAV stream on standard input, written at
/// real-time speed or faster; final text on stdout as it is decided; Ctrl-C keeps it.
@Suite(.serialized) struct LiveCommandTests {
    static let model = Fixtures.whisperTinyEn
    static let jfk = Fixtures.sharedSamples.appendingPathComponent("jfk_inaugural_1961.flac").path
    static let ls = Fixtures.sharedSamples.appendingPathComponent("ls-dev-clean_2412-153948-0000.flac").path

    /// The two recordings with a second of silence after each, as 16 kHz mono s16le (sox).
    static let pcm: Result<Data, any Error> = Result {
        try TestEnvironment.requireSharedSamples()
        try TestEnvironment.requireTool("sox", package: "sox")
        var data = Data()
        for path in [jfk, ls] {
            let run = try Run.shell("sox '\(path)' -t raw -r 16000 -c 1 -b 16 -e signed - pad 0 1 | base64 -w0")
            guard run.status == 0, let bytes = Data(base64Encoded: run.stdout) else {
                throw TestFailure("sox: \(run.stderr)")
            }
            data += bytes
        }
        return data
    }

    /// Runs `transcribe ARGUMENTS` with `input` written to its stdin at `speed` times real time
    /// (16 kHz s16le), 0.1 s of audio at a time. `interrupt` is sent SIGINT once a line is out.
    static func paced(
        _ arguments: [String], _ input: Data, speed: Double, interruptAfterFirstLine: Bool = false
    ) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = Run.executable
        process.arguments = arguments
        let (stdin, stdout) = (Pipe(), Pipe())
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let writer = stdin.fileHandleForWriting
        writePaced(input, bytesPerSecond: 32_000 * speed) { writer }
        var received = Data()
        if interruptAfterFirstLine {
            while !received.contains(UInt8(ascii: "\n")) {
                let data = stdout.fileHandleForReading.availableData
                if data.isEmpty { break }
                received += data
            }
            process.interrupt()
        }
        received += stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: received, as: UTF8.self))
    }

    /// Writes `data` to the handle `open` gives, `bytesPerSecond` at most, 0.1 s of 16 kHz audio
    /// at a time, then closes it; on a thread of its own that blocks SIGPIPE, so that writing on
    /// after the reader is gone (interrupted) fails there rather than ending the test run, and
    /// the signal is taken before the thread ends.
    static func writePaced(_ data: Data, bytesPerSecond: Double, to open: @escaping @Sendable () -> FileHandle?) {
        Thread.detachNewThread {
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
            defer {
                var now = timespec(tv_sec: 0, tv_nsec: 0)
                _ = sigtimedwait(&pipeSignal, nil, &now)
            }
            guard let writer = open() else { return }
            let start = Date()
            var offset = 0
            while offset < data.count {
                let due = Double(offset) / bytesPerSecond - Date().timeIntervalSince(start)
                if due > 0 { usleep(UInt32(due * 1_000_000)) }
                let end = min(data.count, offset + 3_200)
                guard (try? writer.write(contentsOf: data[offset..<end])) != nil else { break }
                offset = end
            }
            try? writer.close()
        }
    }

    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: \.isWhitespace).map {
            String($0.lowercased().unicodeScalars.filter(CharacterSet.alphanumerics.contains))
        }.filter { !$0.isEmpty }
    }

    /// At twice real time, the live text is the offline text but for one word in five at most, one line per
    /// segment; with jsonl, one record per segment, in order, within the stream.
    @Test func transcribesAPacedStream() throws {
        let pcm = try Self.pcm.get()
        let offline = try Run(["-q", "--model", Self.model, Self.jfk, Self.ls]).stdout
        let reference = Self.words(
            offline.split(separator: "\n").map { $0.split(separator: "\t").last ?? "" }.joined(separator: " "))
        let txt = try Self.paced(["-q", "--live", "--raw-rate", "16000", "--model", Self.model, "-"], pcm, speed: 2)
        #expect(txt.status == 0)
        #expect(txt.stdout.hasSuffix("\n") && txt.stdout.split(separator: "\n").count >= 2)
        let live = Self.words(txt.stdout)
        // Greedy live decoding of short stretches against beam search over whole files.
        #expect(Double(editDistance(live, reference)) <= 0.2 * Double(reference.count), "\(txt.stdout)")

        let jsonl = try Self.paced(
            ["-q", "--live", "-f", "jsonl", "--raw-rate", "16000", "--model", Self.model, "-"], pcm, speed: 2)
        #expect(jsonl.status == 0)
        // Segments and their words in order, none overlapping the one before (a word made final
        // on a later step than the word before it starts no earlier than that word's end).
        var previousEnd = 0.0
        var previousWordEnd = 0.0
        for (index, line) in jsonl.stdout.split(separator: "\n").enumerated() {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let (start, end) = (try #require(record["start"] as? Double), try #require(record["end"] as? Double))
            #expect(record["id"] as? Int == index && record["input"] as? String == "-")
            #expect(
                start >= previousEnd - 0.001 && end >= start && end <= Double(pcm.count) / 32_000,
                "\(line) after a segment ending at \(previousEnd)\n\(jsonl.stdout)")
            previousEnd = end
            for word in try #require(record["words"] as? [[String: Any]]) {
                let (start, end) = (try #require(word["start"] as? Double), try #require(word["end"] as? Double))
                #expect(start >= previousWordEnd - 0.001 && end >= start, "\(word) after \(previousWordEnd)")
                previousWordEnd = end
            }
        }
    }

    /// A WAV stream (as `ffmpeg -f wav -` or `sox -t wav -` write it) needs no --raw-rate.
    @Test func readsAWAVStream() throws {
        try TestEnvironment.requireSharedSamples()
        let run = try Run.shell("sox '\(Self.jfk)' -t wav - | \"$TRANSCRIBE\" -q --live --model '\(Self.model)' -")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Self.words(run.stdout).starts(with: ["and", "so", "my", "fellow", "americans"]), "\(run.stdout)")
    }

    /// Ctrl-C once the first line is out: exit 130, and what is on stdout is whole lines.
    @Test func anInterruptEndsTheLineInProgress() throws {
        let pcm = try Self.pcm.get()
        let run = try Self.paced(
            ["-q", "--live", "--raw-rate", "16000", "--model", Self.model, "-"], pcm, speed: 1,
            interruptAfterFirstLine: true)
        #expect(run.status == 130)
        #expect(!run.stdout.isEmpty && run.stdout.hasSuffix("\n"))
        #expect(
            Self.words(run.stdout).count
                < Self.words(try Run(["-q", "--model", Self.model, Self.jfk, Self.ls]).stdout).count)
    }

    /// On a terminal the words not yet final are shown dimmed and replaced; what stays on the
    /// screen is final text alone. The stream comes through a named pipe at twice real time.
    @Test(.enabled(if: TestEnvironment.runs(needing: TestEnvironment.hasTool("script")), "script(1) is not installed"))
    func aTerminalShowsTheGuessDimmed() throws {
        try TestEnvironment.requireTool("script", package: "bsdutils")
        let pcm = try Self.pcm.get()
        try withTemporaryDirectory { directory in
            let fifo = directory.appendingPathComponent("stream").path
            #expect(mkfifo(fifo, 0o600) == 0)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            process.arguments = [
                "-qec", "'\(Run.executable.path)' -q --live --raw-rate 16000 --model '\(Self.model)' '\(fifo)'",
                "/dev/null",
            ]
            let stdout = Pipe()
            process.standardOutput = stdout
            process.standardInput = FileHandle.nullDevice
            try process.run()
            Self.writePaced(pcm, bytesPerSecond: 64_000) { FileHandle(forWritingAtPath: fifo) }
            let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(output.contains("\u{1B}[2m"), "no guess was shown")
            let screen = output.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n").map {
                ($0.components(separatedBy: "\r").last ?? "").replacingOccurrences(of: "\u{1B}[K", with: "")
            }
            #expect(screen.allSatisfy { !$0.contains("\u{1B}") }, "\(screen)")
            // The final text is the transcript: the offline one but for one word in five at most, as
            // for a pipe (a word at the start, decoded from a second of audio, can differ).
            let offline = try Run(["-q", "--model", Self.model, Self.jfk, Self.ls]).stdout
            let reference = Self.words(
                offline.split(separator: "\n").map { $0.split(separator: "\t").last ?? "" }.joined(separator: " "))
            let shown = Self.words(screen.joined(separator: " "))
            #expect(Double(editDistance(shown, reference)) <= 0.2 * Double(reference.count), "\(shown)")
        }
    }

    @Test(arguments: [
        (["--live", "a.wav", "b.wav"], "--live transcribes one input"),
        (["--live", "-f", "json", "-"], "json is one document"),
        (["--live", "-o", "out", "-"], "it cannot go with -o"),
        (["--live", "--vad", "-"], "it cannot go with --vad"),
        (["--raw-format", "f32le", "-"], "give its rate with --raw-rate"),
    ])
    func refusesWhatCannotBeLive(_ arguments: [String], _ message: String) throws {
        let run = try Run(["--model", Self.model] + arguments)
        #expect(run.status == 2)
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }

    /// Headerless PCM is read as the WAV holding the same samples, offline too: f32le, stereo.
    @Test func rawPCMIsTheSameAudioAsItsWAV() throws {
        let clip = Fixtures.clip("quick_brown_fox")
        let model = Fixtures.models.appendingPathComponent("base-postnorm-f32").path
        let wav = try Run(["-q", "--model", model, "-f", "tsv", clip])
        let raw = try Run.shell(
            "sox '\(clip)' -t raw -e float -b 32 -c 2 - | \"$TRANSCRIBE\" -q --model '\(model)' -f tsv --raw-rate 16000 --raw-format f32le --raw-channels 2 -"
        )
        #expect(wav.status == 0 && raw.status == 0, "\(raw.stderr)")
        #expect(raw.stdout == wav.stdout)
    }
}
