import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Results reach stdout segment by segment while a long input is recognized: what a pipe gets is
/// the whole document in the end, Ctrl-C keeps every segment already written, and a terminal
/// shows progress within the file on a line of its own.
@Suite(.serialized) struct IncrementalOutputTests {
    static let model = Fixtures.whisperTinyEn

    /// 49 s of the shared recordings joined by sox into one file: two 30 s windows.
    static let recording: Result<String, any Error> = Result {
        try TestEnvironment.requireSharedSamples()
        try TestEnvironment.requireTool("sox", package: "sox")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "transcribe-incremental-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let names = [
            "jfk_inaugural_1961.flac", "ljspeech_LJ001-0001.wav", "ljspeech_LJ001-0002.wav",
            "ljspeech_LJ001-0003.wav", "ljspeech_LJ001-0004.wav", "ls-dev-clean_2412-153948-0000.flac",
        ]
        var parts: [String] = []
        for (index, name) in names.enumerated() {
            let part = directory.appendingPathComponent("part\(index).wav").path
            let source = Fixtures.sharedSamples.appendingPathComponent(name).path
            let run = try Run.shell("sox '\(source)' -r 16000 -c 1 -b 16 '\(part)'")
            guard run.status == 0 else { throw TestFailure("sox: \(run.stderr)") }
            parts.append("'\(part)'")
        }
        let path = directory.appendingPathComponent("long recording.wav").path
        let run = try Run.shell("sox \(parts.joined(separator: " ")) '\(path)'")
        guard run.status == 0 else { throw TestFailure("sox: \(run.stderr)") }
        return path
    }

    /// Into a pipe, stdout ends up holding exactly the document `-o` writes whole, in every
    /// format that is written as it is decided.
    @Test(arguments: [["-f", "txt"], ["-f", "srt"], ["-f", "vtt"], ["-f", "tsv"], ["-f", "jsonl", "--segments"]])
    func streamedOutputIsTheWholeDocument(_ format: [String]) throws {
        let recording = try Self.recording.get()
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("out." + (format[1])).path
            let streamed = try Run(["-q", "--model", Self.model] + format + [recording])
            let whole = try Run(["-q", "--model", Self.model] + format + ["-o", file, recording])
            #expect(streamed.status == 0 && whole.status == 0, "\(streamed.stderr)\(whole.stderr)")
            #expect(streamed.stdout == (try String(contentsOfFile: file, encoding: .utf8)))
            #expect(streamed.stdout.split(separator: "\n").count >= 4)
            if format.contains("--segments") {
                for line in streamed.stdout.split(separator: "\n") {
                    let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    #expect(record?["input"] as? String == recording && record?["text"] is String)
                }
            }
        }
    }

    /// Ctrl-C once the first lines are out, while later windows are still being decoded: the
    /// process exits with 130, and stdout holds whole lines (txt) or whole cues (srt) that begin
    /// the full output.
    @Test(arguments: ["txt", "srt"])
    func anInterruptKeepsEverySegmentWritten(_ format: String) throws {
        let recording = try Self.recording.get()
        let arguments = ["-q", "--model", Self.model, "-f", format, recording]
        let full = try Run(arguments).stdout

        let process = Process()
        process.executableURL = Run.executable
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        var received = Data()
        while !received.contains(UInt8(ascii: "\n")) {
            let data = stdout.fileHandleForReading.availableData
            if data.isEmpty { break }
            received += data
        }
        #expect(process.isRunning, "the whole output came at once")
        process.interrupt()
        received += stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let partial = String(decoding: received, as: UTF8.self)

        #expect(process.terminationStatus == 130)
        #expect(!partial.isEmpty && partial.hasSuffix("\n"))
        #expect(full.hasPrefix(partial))
        #expect(partial.count < full.count)
        if format == "srt" {
            // Whole cues, numbered from 1 without a gap.
            let cues = partial.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(cues.enumerated().allSatisfy { $1.hasPrefix("\($0 + 1)\n") && $1.contains(" --> ") })
        }
    }

    /// On a terminal, progress is shown while the file is in progress (`0/1 files`), by the audio
    /// heard, and is never on a line with the transcript; the lines on screen are the transcript's.
    @Test(.enabled(if: TestEnvironment.runs(needing: TestEnvironment.hasTool("script")), "script(1) is not installed"))
    func aTerminalShowsProgressWithinTheFileOnItsOwnLine() throws {
        try TestEnvironment.requireTool("script", package: "bsdutils")
        let recording = try Self.recording.get()
        let terminal = try Run.shell(
            "script -qec \"\\\"$TRANSCRIBE\\\" --model '\(Self.model)' '\(recording)'\" /dev/null")
        #expect(terminal.status == 0)
        #expect(terminal.stdout.contains("0/1 files, ") && terminal.stdout.contains(" of audio, "))
        let screen = terminal.stdout.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n").map {
            ($0.components(separatedBy: "\r").last ?? "").replacingOccurrences(of: "\u{1B}[K", with: "")
        }
        let results = screen.filter { !$0.isEmpty && !$0.hasPrefix("transcribe: ") && !$0.contains(" files, ") }
        let piped = try Run(["-q", "--model", Self.model, recording])
        #expect(results.map { $0 + "\n" }.joined() == piped.stdout)
        #expect(screen.filter { $0.contains(" files, ") }.allSatisfy { $0.hasPrefix("1/1 files, ") })
    }

    /// A warning about an input (a truncated MP3, the first of two) is a line of its own on a
    /// terminal, after the input's line of transcript, which is printed as its words come.
    @Test(.enabled(if: TestEnvironment.runs(needing: TestEnvironment.hasTool("script")), "script(1) is not installed"))
    func aWarningOnATerminalIsALineOfItsOwn() throws {
        try TestEnvironment.requireSharedSamples()
        try TestEnvironment.requireTool("script", package: "bsdutils")
        let files = ["librivox-pie-and-patty-pan_48k_stereo.mp3", "ljspeech_LJ001-0002.wav"].map {
            Fixtures.sharedSamples.appendingPathComponent($0).path
        }
        let terminal = try Run.shell(
            "script -qec \"\\\"$TRANSCRIBE\\\" --model '\(Self.model)' '\(files[0])' '\(files[1])'\" /dev/null")
        #expect(terminal.status == 0)
        let screen = terminal.stdout.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n").map {
            ($0.components(separatedBy: "\r").last ?? "").replacingOccurrences(of: "\u{1B}[K", with: "")
        }
        let warning = screen.firstIndex { $0.contains(": warning: ") }
        let expected = "transcribe: \(files[0]): warning: truncated: "
        #expect(warning.map { screen[$0].hasPrefix(expected) } == true, "\(screen)")
        let results = screen.enumerated().filter {
            !$0.element.isEmpty && !$0.element.hasPrefix("transcribe: ") && !$0.element.contains(" files, ")
        }
        let piped = try Run(["-q", "--model", Self.model] + files)
        #expect(results.map { $0.element + "\n" }.joined() == piped.stdout)
        #expect(results.count == 2 && warning.map { results[0].offset < $0 && $0 < results[1].offset } == true)
    }
}
