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
    /// The txt output: one line per Whisper segment.
    static let jfkLines =
        "And so, my fellow Americans ask not what your country can do for you\nask what you can do for your country.\n"

    @Test func transcribesWithTheDefaultBeamSearch() throws {
        let run = try Run(["--model", Self.model, Self.jfk])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == Self.jfkLines)
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

    /// json and jsonl give Whisper's own segments as faster-whisper's `Segment`s are (with word
    /// timestamps): the same tokens, times and words, and the language.
    @Test func jsonSegmentsAreWhispersOwn() throws {
        struct Reference: Decodable {
            struct Word: Decodable { let word: String; let start: Double; let end: Double }
            struct Segment: Decodable {
                let start: Double; let end: Double; let text: String; let tokens: [Int]; let words: [Word]
            }
            let files: [String: [Segment]]
        }
        let url = Fixtures.root.appendingPathComponent("whisper/faster-whisper-tiny.en-words.json")
        let expected = try #require(
            try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url)).files["jfk_inaugural_1961.flac"])
        for format in ["json", "jsonl"] {
            let run = try Run(["--model", Self.model, "--format", format, Self.jfk])
            #expect(run.status == 0, "\(run.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(json["language"] as? String == "en")
            #expect(json["language_probability"] as? Double == 1.0)
            let segments = try #require(json["segments"] as? [[String: Any]])
            #expect(segments.count == expected.count)
            for (index, (ours, theirs)) in zip(segments, expected).enumerated() {
                #expect(ours["id"] as? Int == index + 1)
                #expect(ours["seek"] as? Int == 0)
                #expect(ours["tokens"] as? [Int] == theirs.tokens)
                #expect(ours["text"] as? String == theirs.text)
                #expect(ours["start"] as? Double == theirs.start && ours["end"] as? Double == theirs.end)
                for key in ["temperature", "avg_logprob", "compression_ratio", "no_speech_prob"] {
                    #expect(ours[key] is Double, "\(key)")
                }
                let words = try #require(ours["words"] as? [[String: Any]])
                #expect(words.map { $0["word"] as? String } == theirs.words.map(\.word))
                #expect(words.map { $0["start"] as? Double } == theirs.words.map(\.start))
                #expect(words.map { $0["end"] as? Double } == theirs.words.map(\.end))
            }
        }
    }

    /// --language takes codes, English names in any case and auto; an English-only model knows
    /// English only; other names are usage errors.
    @Test(arguments: [
        (["--language", "English"], 0, ""),
        (["--language", "en"], 0, ""),
        (["--language", "auto"], 0, ""),
        (["--language", "German"], 2, "transcribe: the model has no language \"de\"; it knows: en\n"),
        (["--language", "Klingon"], 2, "Error: --language Klingon: not a language Whisper knows"),
    ])
    func languageNamesAndAuto(_ arguments: [String], _ status: Int32, _ message: String) throws {
        let run = try Run(["-q", "--model", Self.model] + arguments + [Self.jfk])
        #expect(run.status == status, "\(run.stderr)")
        #expect(message.isEmpty ? run.stdout == Self.jfkLines : run.stderr.hasPrefix(message), "\(run.stderr)")
    }

    /// Whisper times words, not characters: --characters is refused with the reason.
    @Test func charactersAreRefusedForWhisper() throws {
        for format in ["json", "jsonl"] {
            let run = try Run(["--model", Self.model, "--format", format, "--characters", Self.jfk])
            #expect(run.status == 2)
            #expect(
                run.stderr.hasPrefix("transcribe: --characters needs a CTC model; Whisper times words, not characters"))
        }
    }

    /// On a terminal, each file's language is one line on stderr; into a pipe, none.
    @Test(.enabled(if: TestEnvironment.runs(needing: TestEnvironment.hasTool("script")), "script(1) is not installed"))
    func theLanguageIsShownOnATerminal() throws {
        try TestEnvironment.requireTool("script", package: "bsdutils")
        let terminal = try Run.shell(
            "script -qec \"\\\"$TRANSCRIBE\\\" --model '\(Self.model)' '\(Self.jfk)'\" /dev/null")
        #expect(terminal.status == 0)
        #expect(
            terminal.stdout.contains("jfk_inaugural_1961.flac: language English (en), the model's only language\r\n"))
        let piped = try Run(["--model", Self.model, Self.jfk])
        #expect(!piped.stderr.contains("language"))
    }

    /// Subtitles from the real word times: no cue shows a word before it is spoken, none holds a
    /// lone word here, every line fits, and the PyPI parsers read every cue.
    @Test(arguments: ["jfk_inaugural_1961.flac", "ls-dev-clean_1272-128104-0004_8k.wav"])
    func subtitlesFollowTheWords(_ name: String) throws {
        let path = Fixtures.sharedSamples.appendingPathComponent(name).path
        let json = try Run(["--model", Self.model, "--format", "json", path])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let words = try #require(document["words"] as? [[String: Any]])
        for (format, width) in [("srt", 42), ("vtt", 42), ("srt", 24)] {
            try withTemporaryDirectory { directory in
                let run = try Run(
                    [
                        "--model", Self.model, "--format", format, "--max-line-width", "\(width)", "-o", directory.path,
                        path,
                    ])
                #expect(run.status == 0, "\(run.stderr)")
                let stem = URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent
                let file = directory.appendingPathComponent("\(stem).\(format)").path
                let texts = try cueTexts(ofSubtitleFile: file, format: format)
                #expect(texts.joined(separator: " ") == document["text"] as? String)
                #expect(texts.allSatisfy { $0.split(separator: " ").count > 1 }, "\(texts)")
                let content = try String(contentsOfFile: file, encoding: .utf8)
                let lines = content.split(separator: "\n").filter { !$0.contains("-->") && !$0.allSatisfy(\.isNumber) }
                #expect(lines.dropFirst(format == "vtt" ? 1 : 0).allSatisfy { $0.count <= width }, "\(lines)")
                // Each cue starts no earlier than its first word.
                let starts = content.split(separator: "\n").filter { $0.contains("-->") }.map { line -> Double in
                    let clock = line.prefix(12).replacingOccurrences(of: ",", with: ".").split(separator: ":")
                    return Double(clock[0])! * 3600 + Double(clock[1])! * 60 + Double(clock[2])!
                }
                var first = 0
                for (cue, text) in zip(starts, texts) {
                    let wordStart = try #require(words[first]["start"] as? Double)
                    #expect(cue >= wordStart - 1e-9, "\(text)")
                    first += text.split(separator: " ").count
                }
            }
        }
    }
}
