import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// `--vad` and `--batch-size` as a user runs them: only the speech Silero VAD finds is decoded,
/// every time stays the input's, and what cannot work is refused with the reason.
@Suite(
    .enabled(
        if: TestEnvironment.runs(needing: SharedSamples.available),
        "../shared/samples is absent: real-recording tests skipped"))
struct SpeechDetectionCommandTests {
    static let whisper = Fixtures.whisperTinyEn
    static let ctc = Fixtures.model("base-postnorm-f32").path
    static let noise = Fixtures.root.appendingPathComponent("vad/clips/white-noise_-20dB.flac").path

    /// A float WAV at 16 kHz: `seconds` of low noise, `speech`, then `seconds` of noise again.
    static func padded(_ speech: [Float], seconds: Double, in directory: URL, name: String = "padded.wav") throws
        -> String
    {
        var generator = SplitMix64(seed: 7)
        let noise = (0..<Int(seconds * 16_000)).map { _ in Float(generator.nextUnit() * 2 - 1) * 0.003 }
        let path = directory.appendingPathComponent(name)
        try wavBytes(
            format: 3, channels: 1, sampleRate: 16_000, bitsPerSample: 32,
            payload: littleEndianBytes(noise + speech + noise)
        ).write(to: path)
        return path.path
    }

    static func json(_ run: Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    /// Speech moved 6 s later by noise before it: the same words, each 6 s later than without the
    /// padding, and the JSON says where the speech was.
    @Test(arguments: [[String](), ["--batch-size", "4"]])
    func timesStayTheInputs(_ extra: [String]) throws {
        let jfk = try loadAudio(path: WhisperCommandTests.jfk, sampleRate: 16_000)
        try withTemporaryDirectory { directory in
            let path = try Self.padded(jfk, seconds: 6, in: directory)
            let run = try Run(["--model", Self.whisper, "--vad", "-f", "json", path] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            let json = try Self.json(run)
            #expect((json["text"] as? String)?.contains("ask not what your country can do for you") == true)
            #expect(json["duration"] as? Double == 23.0)
            let speech = try #require(json["speech"] as? [[String: Double]])
            #expect(!speech.isEmpty)
            let first = try #require(speech.first?["start"]), last = try #require(speech.last?["end"])
            #expect(first > 5 && first < 6.5 && last > 16 && last < 17.5, "\(speech)")
            let words = try #require(json["words"] as? [[String: Any]])
            let starts = words.compactMap { $0["start"] as? Double }, ends = words.compactMap { $0["end"] as? Double }
            #expect(starts.count == words.count && (starts.first ?? 0) >= first && (ends.last ?? 99) <= last)
            // Without the padding, the first word starts within 0.3 s of 6 s earlier.
            let plain = try Self.json(try Run(["--model", Self.whisper, "-f", "json", WhisperCommandTests.jfk]))
            let plainStart = try #require((plain["words"] as? [[String: Any]])?.first?["start"] as? Double)
            #expect(abs((starts.first ?? 0) - 6 - plainStart) < 0.3, "\(starts.first ?? 0) vs \(plainStart)")
        }
    }

    /// Noise alone: no region, no words, and the run succeeds.
    @Test(arguments: [["--model", whisper], ["--model", whisper, "--batch-size", "2"], ["--model", ctc]])
    func noiseGivesNoWords(_ model: [String]) throws {
        let run = try Run(model + ["--vad", "-f", "json", Self.noise])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try Self.json(run)
        #expect(json["text"] as? String == "")
        #expect((json["speech"] as? [Any])?.isEmpty == true)
        #expect(json["speech_duration"] as? Double == 0.0)
    }

    /// On a terminal, an input without speech says so on stderr, where a Whisper model would
    /// otherwise name a language it guessed from nothing; into a pipe nothing is said.
    @Test func noSpeechIsSaidOnATerminal() throws {
        try TestEnvironment.requireTool("script", package: "bsdutils")
        let command = "\\\"$TRANSCRIBE\\\" --model '\(Self.whisper)' --vad '\(Self.noise)'"
        let terminal = try Run.shell("script -qec \"\(command)\" /dev/null")
        #expect(terminal.status == 0)
        #expect(terminal.stdout.contains("\(Self.noise): no speech found"), "\(terminal.stdout)")
        #expect(!terminal.stdout.contains("language"))
        let piped = try Run(["--model", Self.whisper, "--vad", Self.noise])
        #expect(piped.stderr == "" && piped.stdout == "\n")
    }

    /// A CTC model hears only the speech too, its character times moved with their words into
    /// the speech regions.
    @Test func ctcTimesAreMovedBack() throws {
        let clip = try loadAudio(path: Fixtures.clip(Fixtures.clipNames[0]), sampleRate: 16_000)
        try withTemporaryDirectory { directory in
            let path = try Self.padded(clip, seconds: 4, in: directory)
            let run = try Run(["--model", Self.ctc, "--vad", "-f", "json", "--characters", path])
            #expect(run.status == 0, "\(run.stderr)")
            let json = try Self.json(run)
            let speech = try #require(json["speech"] as? [[String: Double]])
            // Times are rounded to 10 ms on the way back, as faster-whisper rounds them.
            let regions = speech.map { (($0["start"] ?? -1) - 0.005)...(($0["end"] ?? -1) + 0.005) }
            let words = try #require(json["words"] as? [[String: Any]])
            for word in words {
                for character in try #require(word["characters"] as? [[String: Any]]) {
                    let (start, end) = (character["start"] as? Double ?? -1, character["end"] as? Double ?? -1)
                    #expect(
                        regions.contains { $0.contains(start) && $0.contains(end) }, "\(start)-\(end) not in \(speech)")
                }
            }
        }
    }

    @Test(arguments: [
        (["--vad-threshold", "0"], "--vad-threshold must be above 0 and at most 1"),
        (["--vad-pad=-1"], "--vad-min-silence, --vad-min-speech and --vad-pad must be 0 or more"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--batch-size", "2", "--vad-max-speech", "40"], "--vad-max-speech must be at most 30"),
        (["--no-vad", "--batch-size", "2"], "it cannot go with --no-vad"),
    ])
    func badValuesAreUsageErrors(_ arguments: [String], message: String) throws {
        let run = try Run(["--model", Self.whisper] + arguments + [Self.noise])
        #expect(run.status == 2)
        #expect(run.stderr.contains(message), "\(run.stderr)")
        #expect(run.stdout == "")
    }

    @Test func batchSizeNeedsWhisper() throws {
        let run = try Run(["--model", Self.ctc, "--batch-size", "2", Self.noise])
        #expect(run.status == 2)
        #expect(run.stderr.contains("--batch-size needs a Whisper model"), "\(run.stderr)")
    }

    @Test func aMissingDetectorIsNamedWithTheWayToInstallIt() throws {
        let run = try Run(["--model", Self.whisper, "--vad", "--vad-model", "no-such-vad", Self.noise])
        #expect(run.status == 3)
        #expect(run.stderr.contains("no-such-vad") && run.stderr.contains("scripts/install-vad.sh"), "\(run.stderr)")
        #expect(run.stdout == "")
    }
}
