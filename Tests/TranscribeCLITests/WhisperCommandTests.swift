import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// The binary with a Whisper model, as a user runs it: the family comes from config.json, and
/// formats, batches and errors work as with a CTC model.
@Suite(
    .enabled(
        if: TestEnvironment.runs(needing: SharedSamples.available),
        "../shared/samples is absent: real-recording tests skipped"))
struct WhisperCommandTests {
    static let model = Fixtures.whisperTinyEn
    static let jfk = Fixtures.sharedSamples.appendingPathComponent("jfk_inaugural_1961.flac").path
    static let jfkText =
        "And so, my fellow Americans ask not what your country can do for you ask what you can do for your country."

    @Test func transcribesWithTheDefaultBeamSearch() throws {
        let run = try Run(["--model", Self.model, Self.jfk])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == Self.jfkText + "\n")
        #expect(run.stderr == "")
    }

    @Test func jsonHasWhisperSegmentsAndWordsWithinThem() throws {
        let run = try Run(["--model", Self.model, "--format", "json", Self.jfk])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["text"] as? String == Self.jfkText)
        #expect(json["model"] as? String == "whisper-tiny.en")
        let segments = try #require(json["segments"] as? [[String: Any]])
        let words = try #require(json["words"] as? [[String: Any]])
        #expect(words.count == Self.jfkText.split(separator: " ").count)
        // Whisper's own segments end where their last words end, 8.02 s and 10.5 s (as faster-whisper's
        // with word timestamps); cues are only ever cut inside them.
        let ends = segments.compactMap { $0["end"] as? Double }
        #expect(ends.contains(8.02) && ends.last == 10.5, "\(ends)")
        var previousEnd = 0.0
        for word in words {
            let (start, end) = (try #require(word["start"] as? Double), try #require(word["end"] as? Double))
            #expect(start >= previousEnd - 1e-9 && end >= start && end <= 11.0)
            let confidence = try #require(word["confidence"] as? Double)
            #expect(confidence > 0 && confidence <= 1)
            previousEnd = end
        }
    }

    @Test(arguments: ["srt", "vtt"])
    func subtitlesParse(format: String) throws {
        try withTemporaryDirectory { directory in
            let run = try Run(["--model", Self.model, "--format", format, "--output-dir", directory.path, Self.jfk])
            #expect(run.status == 0, "\(run.stderr)")
            let file = directory.appendingPathComponent("jfk_inaugural_1961.\(format)").path
            #expect(try cueTexts(ofSubtitleFile: file, format: format).joined(separator: " ") == Self.jfkText)
        }
    }

    @Test func aBrokenFileInABatchIsReportedAndTheRestTranscribed() throws {
        try withTemporaryDirectory { directory in
            let broken = directory.appendingPathComponent("broken.wav")
            try Data("not audio at all".utf8).write(to: broken)
            let run = try Run(["--model", Self.model, "--format", "jsonl", "--jobs", "2", broken.path, Self.jfk])
            #expect(run.status == 1)
            let lines = run.stdout.split(separator: "\n").map {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(lines.count == 2)
            #expect(lines.first??["error"] != nil)
            #expect(lines.last??["text"] as? String == Self.jfkText)
            #expect(run.stderr.hasPrefix("transcribe: \(broken.path): "))
            #expect(run.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test(arguments: [
        (["--language", "de"], "the model has no language \"de\"; it knows: en"),
        (["--task", "translate"], "the model is English-only; --task translate needs a multilingual model"),
        (["--emissions", "out"], "--emissions needs a CTC model"),
    ])
    func refusesWhatTheModelCannotDo(arguments: [String], message: String) throws {
        let run = try Run(["--model", Self.model] + arguments + [Self.jfk])
        #expect(run.status == 2)
        #expect(run.stdout == "")
        #expect(run.stderr.hasPrefix("transcribe: ") && run.stderr.contains(message), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    /// Digital silence (sox -D: no dither) and 16-bit dither over silence (sox's, seeded by -R) read
    /// as nothing, though the reference decoder hears "You" in zeros (see the next test).
    @Test(arguments: ["-D", "-R"])
    func silenceGivesAnEmptyTranscript(soxOption: String) throws {
        try withTemporaryDirectory { directory in
            let silence = directory.appendingPathComponent("silence.wav")
            try TestEnvironment.requireTool("sox", package: "sox")
            let sox = try Run.shell("sox \(soxOption) -n -r 16000 -c 1 -b 16 '\(silence.path)' trim 0 3")
            #expect(sox.status == 0, "\(sox.stderr)")
            let run = try Run(["--model", Self.model, "--format", "json", silence.path])
            #expect(run.status == 0, "\(run.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(json["text"] as? String == "")
            #expect((json["segments"] as? [Any])?.isEmpty == true)
        }
    }

    /// Without the silence gate, tiny.en hears "You" in 3 s of zeros, as faster-whisper does with
    /// its defaults: the gate is what keeps silence silent.
    @Test func theReferenceDecoderHearsYouInZeros() throws {
        let directory = ModelDirectory(path: Self.model)
        var options = WhisperDecodingOptions()
        let zeros = [Float](repeating: 0, count: 48_000)
        #expect(
            try WhisperRecognizer(directory: directory, options: options).transcribe(samples: zeros).segments.isEmpty)
        options.silencePeak = nil
        #expect(try WhisperRecognizer(directory: directory, options: options).transcribe(samples: zeros).text == "You")
    }

    /// A window of silence is passed over, not lost track of: speech after 30 s of zeros reads
    /// as it does alone, 30 s later.
    @Test func speechAfterAWindowOfSilenceKeepsItsTimes() throws {
        try withTemporaryDirectory { directory in
            let paddedFile = directory.appendingPathComponent("padded.flac")
            try TestEnvironment.requireTool("sox", package: "sox")
            let sox = try Run.shell("sox -D '\(Self.jfk)' '\(paddedFile.path)' pad 30 0")
            #expect(sox.status == 0, "\(sox.stderr)")
            func words(_ path: String) throws -> [String] {
                let run = try Run(["--model", Self.model, "--format", "json", path])
                #expect(run.status == 0, "\(run.stderr)")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
                return try #require(json["words"] as? [[String: Any]]).map { word in
                    let shift = path == Self.jfk ? 0 : 30.0
                    let (start, end) = (word["start"] as? Double ?? .nan, word["end"] as? Double ?? .nan)
                    return String(format: "%.3f-%.3f ", start - shift, end - shift) + (word["word"] as? String ?? "")
                }
            }
            let alone = try words(Self.jfk)
            let padded = try words(paddedFile.path)
            #expect(alone.count == 22)
            // The first word after 30 s of silence is held to twice the median word length, as
            // faster-whisper holds it ("And" 0.12-0.76 instead of 0.00-0.76); every other time is the same.
            #expect(padded.dropFirst() == alone.dropFirst())
            #expect(padded.first?.hasSuffix("-0.760 And") == true, "\(padded.first ?? "")")
        }
    }
}
