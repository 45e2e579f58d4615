import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Audio classifiers as a user runs them: the same command, formats, batches and errors as
/// transcription, with labels and scores instead of words.
@Suite struct ClassificationCommandTests {
    static let root = Fixtures.root.appendingPathComponent("classification")
    static func model(_ name: String) -> String { root.appendingPathComponent("models/\(name)").path }
    static func clip(_ name: String) -> String { root.appendingPathComponent("clips/\(name).wav").path }

    struct Reference: Decodable {
        struct Clip: Decodable {
            let logits: [Double]
            let pipeline: [Entry]
        }
        struct Entry: Decodable {
            let label: String
            let score: Double
        }
        let clips: [String: Clip]
    }

    static func reference(_ model: String) throws -> Reference {
        try JSONDecoder().decode(
            Reference.self, from: Data(contentsOf: root.appendingPathComponent("models/\(model)/reference.json")))
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// txt: the best label and its score, as the pipeline ranks them.
    @Test(arguments: ["wav2vec2-ks-weighted", "hubert-ks", "ast-tiny"])
    func txtIsTheBestLabel(_ model: String) throws {
        let best = try #require(try Self.reference(model).clips["stop"]?.pipeline.first)
        let run = try Run(["--model", Self.model(model), Self.clip("stop")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "\(best.label) \(String(format: "%.4f", best.score))\n")
    }

    /// Several inputs: one line each, `FILE<TAB>label score`, in input order; tsv rows say the input.
    @Test func severalInputsAreNamed() throws {
        let reference = try Self.reference("hubert-ks")
        let clips = ["yes", "no", "tone_440"]  // each at most the 1 s window: one clip each
        let run = try Run(["-q", "--model", Self.model("hubert-ks")] + clips.map(Self.clip))
        #expect(run.status == 0, "\(run.stderr)")
        let expected = try clips.map { clip in
            let best = try #require(reference.clips[clip]?.pipeline.first)
            return "\(Self.clip(clip))\t\(best.label) \(String(format: "%.4f", best.score))"
        }
        #expect(run.stdout.split(separator: "\n").map(String.init) == expected)

        let tsv = try Run(
            ["-q", "--model", Self.model("hubert-ks"), "-f", "tsv", "--top-k", "2"] + clips.map(Self.clip))
        let lines = tsv.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "input\tstart\tend\tlabel\tscore")
        #expect(lines.count == 1 + 2 * clips.count)
        #expect(lines[1].hasPrefix("\(Self.clip("yes"))\t0.000\t"))
    }

    /// json: the top k with the pipeline's scores, the score function, no windows for a clip.
    @Test(arguments: [("ast-tiny", "softmax"), ("ast-tiny-multilabel-f16", "sigmoid")])
    func jsonHasTheTopK(_ model: String, _ scores: String) throws {
        let expected = try #require(try Self.reference(model).clips["chirp"]?.pipeline)
        let run = try Run(["--model", Self.model(model), "-f", "json", "--top-k", "3", Self.clip("chirp")])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try Self.json(run.stdout)
        #expect(json["scores"] as? String == scores)
        #expect(json["model"] as? String == model)
        #expect(json["windows"] == nil)
        let labels = try #require(json["labels"] as? [[String: Any]])
        #expect(labels.map { $0["label"] as? String } == expected.prefix(3).map(\.label))
        for (entry, reference) in zip(labels, expected) {
            let score = try #require(entry["score"] as? Double)
            #expect(abs(score - reference.score) <= 5e-5)
        }
    }

    /// --scores overrides the model's: sigmoid of each logit on its own.
    @Test func scoresCanBeChosen() throws {
        let logits = try #require(try Self.reference("wav2vec2-ks-weighted").clips["go"]?.logits)
        let run = try Run([
            "--model", Self.model("wav2vec2-ks-weighted"), "-f", "jsonl", "--scores", "sigmoid", "--top-k", "12",
            Self.clip("go"),
        ])
        let labels = try #require(try Self.json(run.stdout)["labels"] as? [[String: Any]])
        let expected = logits.map { 1 / (1 + exp(-$0)) }.sorted(by: >)
        #expect(labels.compactMap { $0["score"] as? Double }.enumerated().allSatisfy { abs($1 - expected[$0]) <= 1e-5 })
    }

    /// A recording longer than the window: a window every hop, the last one ending at the end,
    /// each scored as that stretch alone would be.
    @Test func longerInputsGetATimeline() throws {
        let run = try Run([
            "--model", Self.model("ast-tiny"), "-f", "json", "--window", "1", "--hop", "0.5", "--top-k", "1",
            Self.clip("mix_long"),
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let windows = try #require(try Self.json(run.stdout)["windows"] as? [[String: Any]])
        #expect(windows.map { $0["start"] as? Double } == [0, 0.5, 1, 1.5, 2, 2.2])
        #expect(windows.map { $0["end"] as? Double } == [1, 1.5, 2, 2.5, 3, 3.2])

        let classifier = try #require(
            try loadRecognizer(directory: ModelDirectory(path: Self.model("ast-tiny"))) as? AudioClassifier)
        let samples = try loadAudio(path: Self.clip("mix_long"), sampleRate: 16_000)
        for window in windows {
            let start = Int((window["start"] as! Double) * 16_000), end = Int((window["end"] as! Double) * 16_000)
            let logits = try #require(classifier.logits(clip: Array(samples[start..<end])))
            let best = topLabels(ScoreFunction.softmax.apply(logits), labels: classifier.labels.names, k: 1)[0]
            let top = try #require((window["labels"] as? [[String: Any]])?.first)
            #expect(top["label"] as? String == best.label)
            #expect(abs((top["score"] as? Double ?? 0) - Double(best.score)) <= 1e-6)
        }
    }

    /// A recording with "yes", "no" and "stop" said twice each (a keyword spotter trained for them):
    /// the events as tsv rows, and as srt and vtt cues that subtitle parsers read.
    @Test func eventsInTsvSrtAndVtt() throws {
        let events = Fixtures.root.appendingPathComponent("classification/events")
        let model = events.appendingPathComponent("keyword-spotter").path
        let recording = events.appendingPathComponent("recording.wav").path
        let said = ["yes", "no", "stop", "no", "yes", "stop"]
        let tsv = try Run(["--model", model, "-f", "tsv", recording])
        #expect(tsv.status == 0, "\(tsv.stderr)")
        let rows = tsv.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.map { $0[2] } == said)
        #expect(rows.allSatisfy { Double($0[3])! >= 0.5 && Double($0[0])! < Double($0[1])! })
        try withTemporaryDirectory { directory in
            for format in ["srt", "vtt"] {
                let run = try Run(["--model", model, "-f", format, "-o", directory.path, recording])
                #expect(run.status == 0, "\(run.stderr)")
                let cues = try cueTexts(
                    ofSubtitleFile: directory.appendingPathComponent("recording.\(format)").path, format: format)
                #expect(cues.map { String($0.prefix { $0 != " " }) } == said, "\(cues)")
            }
        }
    }

    /// --output-dir: one whole file per input in every format; --skip-existing knows them as done.
    @Test(arguments: OutputFormat.allCases)
    func writesFilesThatSkipExistingRecognises(_ format: OutputFormat) throws {
        try withTemporaryDirectory { directory in
            let arguments = [
                "-q", "--model", Self.model("ast-tiny"), "-f", format.rawValue, "-o", directory.path,
                "--window", "1", Self.clip("yes"), Self.clip("mix_long"),
            ]
            let run = try Run(arguments)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.isEmpty)
            for clip in ["yes", "mix_long"] {
                let path = directory.appendingPathComponent("\(clip).\(format.rawValue)").path
                #expect(format.isComplete(fileAt: BytePath(path)), "\(path)")
            }
            let again = try Run(arguments + ["--skip-existing"])
            #expect(again.status == 0)
        }
    }

    /// Options of the other kind of model are refused in one line naming the family.
    @Test func optionsOfTheOtherFamilyAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["--model", Self.model("ast-tiny"), "--beam-size", "3"], "--beam-size applies to transcription"),
            (["--model", Self.model("hubert-ks"), "--language", "de"], "--language applies to transcription"),
            (["--model", Self.model("hubert-ks"), "--vad"], "--vad applies to transcription"),
            (["--model", Self.model("ast-tiny"), "-f", "json", "--characters"], "--characters applies"),
            (
                ["--model", Fixtures.model("base-postnorm-f32").path, "--top-k", "3"],
                "--top-k applies to audio classifiers"
            ),
            (["--model", Fixtures.model("base-postnorm-f32").path, "--keywords", "yes"], "is wav2vec2"),
            (["--model", Self.model("hubert-ks"), "--keywords", "yes,maybe"], "--keywords: \"maybe\" is not a label"),
            (["--model", Self.model("hubert-ks"), "--hop", "2"], "--hop: a hop of 2.0 s is longer than the window"),
            (["--model", Self.model("hubert-ks"), "--top-k", "0"], "--top-k must be at least 1"),
            (["--model", Self.model("ast-tiny"), "--window", "3"], "longer than ASTForAudioClassification hears"),
        ]
        for (arguments, message) in cases {
            let run = try Run(arguments + [Self.clip("yes")])
            #expect(run.status == 2, "\(arguments)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }

    /// A bad input in a batch is one line naming it; the rest are classified; exit status 1.
    @Test func badInputsFailAloneInABatch() throws {
        try withTemporaryDirectory { directory in
            let broken = directory.appendingPathComponent("broken.wav")
            try Data("RIFF....WAVEfmt nonsense".utf8).write(to: broken)
            let tooShort = directory.appendingPathComponent("short.wav")
            try wavBytes(
                format: 1, channels: 1, sampleRate: 16_000, bitsPerSample: 16,
                payload: littleEndianBytes([Int16](repeating: 0, count: 100))
            ).write(to: tooShort)
            let run = try Run([
                "-q", "--model", Self.model("hubert-ks"), "-f", "jsonl", Self.clip("yes"), broken.path,
                tooShort.path, Self.clip("no"),
            ])
            #expect(run.status == 1)
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 4)
            #expect(try Self.json(lines[0])["labels"] != nil && Self.json(lines[3])["labels"] != nil)
            #expect(try Self.json(lines[1])["error"] != nil)
            #expect((try Self.json(lines[2])["error"] as? String)?.contains("too short to classify") == true)
            let errors = run.stderr.split(separator: "\n")
            #expect(errors.count == 2 && errors[0].contains(broken.path) && errors[1].contains(tooShort.path))
        }
    }
}
