import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Whisper tiny.en over the speech alone, against faster-whisper 1.2.1 on the same weights:
/// `vad_filter=True` (the sequential algorithm over the regions put end to end) and
/// `BatchedInferencePipeline(batch_size=8)`, each with and without word timestamps, on three
/// recordings of 49-88 s built from ../shared/samples with silence and noise between them
/// (Tests/Fixtures/whisper/faster-whisper-vad.json, made by
/// scripts/fixtures/make-faster-whisper-vad-reference.py, which gives the recipe).
@Suite(
    .enabled(
        if: TestEnvironment.runs(needing: SharedSamples.available),
        "../shared/samples is absent: real-recording tests skipped"))
struct WhisperSpeechDetectionTests {
    struct Reference: Decodable {
        struct Piece: Decodable {
            let sample: String?
            let noise: Double?
            let silence: Double?
            let amplitude: Double?
            let seed: UInt64?
            let samples: Int
        }
        /// `[text, start, end, probability]`, as the base reference stores words.
        typealias Word = WhisperBaseTests.Reference.Word
        struct Segment: Decodable {
            let start: Double, end: Double, text: String, tokens: [Int]
            let words: [Word]?
        }
        struct Run: Decodable {
            let text: String
            let segments: [Segment]
        }
        struct Recording: Decodable {
            let pieces: [Piece]
            let samples: Int
            let speech: [String: [[Int]]]
            let runs: [String: Run]
        }
        let recordings: [String: Recording]
    }

    static let reference: Reference? = {
        let url = Fixtures.root.appendingPathComponent("whisper/faster-whisper-vad.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode(Reference.self, from: $0) }
    }()
    static let names = reference.map { $0.recordings.keys.sorted() } ?? []

    /// The recording's samples, built as the reference built them: samples decoded as this tool
    /// decodes them, zeros, and noise from a 64-bit LCG.
    static func build(_ recording: Reference.Recording) throws -> [Float] {
        var samples: [Float] = []
        for piece in recording.pieces {
            if let name = piece.sample {
                samples += try loadAudio(
                    path: Fixtures.sharedSamples.appendingPathComponent(name).path, sampleRate: 16_000)
            } else if let seed = piece.seed, let amplitude = piece.amplitude {
                var state = seed
                for _ in 0..<piece.samples {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    samples.append(Float(amplitude * (Double(state >> 40) / 16_777_216 * 2 - 1)))
                }
            } else {
                samples += [Float](repeating: 0, count: piece.samples)
            }
        }
        #expect(samples.count == recording.samples)
        return samples
    }

    /// Samples handed out in blocks of 4000, as a file is read.
    final class Samples: SampleSource {
        let sampleRate = 16_000
        private var remaining: ArraySlice<Float>
        init(_ samples: [Float]) { remaining = samples[...] }
        func next() throws -> [Float] {
            defer { remaining = remaining.dropFirst(4000) }
            return Array(remaining.prefix(4000))
        }
    }

    static func recognizer(wordTimestamps: Bool) throws -> WhisperRecognizer {
        guard FileManager.default.fileExists(atPath: Fixtures.whisperTinyEn + "/model.safetensors") else {
            throw TestFailure("\(Fixtures.whisperTinyEn) is missing: run scripts/install-whisper.sh tiny.en")
        }
        var options = WhisperDecodingOptions()
        options.wordTimestamps = wordTimestamps
        return try WhisperRecognizer(directory: ModelDirectory(path: Fixtures.whisperTinyEn), options: options)
    }

    static func detector() throws -> SileroVAD { try SileroVADTests.detector() }

    /// The same tokens in every segment, and segment and word times within 20 ms.
    static func compare(_ ours: WhisperTranscription, _ theirs: Reference.Run, _ name: String) {
        #expect(ours.text == theirs.text.trimmingCharacters(in: .whitespaces), "\(name)")
        #expect(ours.segments.map(\.tokens) == theirs.segments.map(\.tokens), "\(name)")
        for (segment, reference) in zip(ours.segments, theirs.segments) {
            #expect(
                abs(segment.start - reference.start) <= 0.0201,
                "\(name): segment starts \(segment.start) vs \(reference.start)")
            #expect(
                abs(segment.end - reference.end) <= 0.0201, "\(name): segment ends \(segment.end) vs \(reference.end)")
            let words = reference.words ?? []
            #expect(segment.words.map(\.text) == words.map(\.text), "\(name)")
            for (word, theirs) in zip(segment.words, words) {
                #expect(
                    abs(word.start - theirs.start) <= 0.0201 && abs(word.end - theirs.end) <= 0.0201,
                    "\(name): \(word.text) at \(word.start)-\(word.end) vs \(theirs.start)-\(theirs.end)")
            }
        }
    }

    @Test func theReferenceIsPresent() throws {
        try TestEnvironment.requireSharedSamples()
        #expect(Self.names.count == 3)
    }

    /// `--vad`: the regions faster-whisper finds, and the sequential algorithm over their speech
    /// gives its tokens, segments and words, on the input's timeline (with word timestamps, as
    /// the command line always decodes).
    @Test(arguments: names)
    func sequentialOverTheSpeechAsFasterWhisper(_ name: String) throws {
        let recording = try #require(Self.reference?.recordings[name])
        let (ours, regions) = try Self.sequentialOverTheSpeech(recording, wordTimestamps: true)
        #expect(regions == recording.speech["default"], "\(name)")
        Self.compare(ours, try #require(recording.runs["sequential_vad"]), name)
    }

    /// The sequential algorithm over the speech of faster-whisper's default regions, on the
    /// input's timeline, and those regions as `[start, end]` samples.
    static func sequentialOverTheSpeech(_ recording: Reference.Recording, wordTimestamps: Bool) throws -> (
        WhisperTranscription, [[Int]]
    ) {
        let filter = SpeechFilter(
            source: Samples(try build(recording)), detector: try detector(), options: SpeechRegionOptions())
        let recognition = try recognizer(wordTimestamps: wordTimestamps).recognize(
            stream: filter, keepingEmissions: false
        ).restored(to: filter.timeline, inputSeconds: filter.inputSeconds)
        return (try #require(recognition.whisper), filter.regions.map { [$0.start, $0.end] })
    }

    /// The same without word timestamps (the library's option; the command line always times
    /// words): faster-whisper's tokens in every segment, and its segment times but one. Where a
    /// segment's end falls past the last region, faster-whisper maps it beyond the end of the
    /// recording (in "mixed", to 13.7 s past it); this tool keeps it inside.
    @Test(arguments: names)
    func sequentialWithoutWordTimesAsFasterWhisper(_ name: String) throws {
        let recording = try #require(Self.reference?.recordings[name])
        let (ours, _) = try Self.sequentialOverTheSpeech(recording, wordTimestamps: false)
        let theirs = try #require(recording.runs["sequential_vad_nowords"])
        let seconds = Double(recording.samples) / 16_000
        #expect(ours.text == theirs.text.trimmingCharacters(in: .whitespaces), "\(name)")
        #expect(ours.segments.map(\.tokens) == theirs.segments.map(\.tokens), "\(name)")
        for (segment, reference) in zip(ours.segments, theirs.segments) {
            #expect(abs(segment.start - reference.start) <= 0.0201, "\(name): \(segment.start) vs \(reference.start)")
            if reference.end <= seconds {
                #expect(abs(segment.end - reference.end) <= 0.0201, "\(name): \(segment.end) vs \(reference.end)")
            } else {
                #expect(segment.end <= seconds, "\(name): \(segment.end) past the end, \(seconds) s")
            }
        }
    }

    /// `--batch-size 8`: the batched pipeline's regions and windows, and one segment per window
    /// with faster-whisper's tokens (the speech it drops included: a window decoded without
    /// timestamps may stop before its end), its times, and its words within 20 ms. Its beam search
    /// is CTranslate2's, whose candidates differ from openai-whisper's (`Search.advance`): with
    /// openai-whisper's, 3 or 4 of these 7 windows (by the resampler) lost a comma or more.
    @Test(arguments: names)
    func batchedAsFasterWhisper(_ name: String) throws {
        let recording = try #require(Self.reference?.recordings[name])
        let samples = try Self.build(recording)
        for (run, words) in [("batched", true), ("batched_nowords", false)] {
            let filter = SpeechFilter(source: Samples(samples), detector: try Self.detector(), options: .batched())
            let recognition = try Self.recognizer(wordTimestamps: words).recognizeBatched(speech: filter, batchSize: 8)
            #expect(filter.regions.map { [$0.start, $0.end] } == recording.speech["batched"], "\(name)")
            Self.compare(try #require(recognition.whisper), try #require(recording.runs[run]), "\(name) \(run)")
        }
    }
}
