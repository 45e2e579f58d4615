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
            let seek: Int?
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

    static func recognizer(wordTimestamps: Bool, seekToLastWord: Bool = false) throws -> WhisperRecognizer {
        guard FileManager.default.fileExists(atPath: Fixtures.whisperTinyEn + "/model.safetensors") else {
            throw TestFailure("\(Fixtures.whisperTinyEn) is missing: run scripts/install-whisper.sh tiny.en")
        }
        var options = WhisperDecodingOptions()
        options.wordTimestamps = wordTimestamps
        options.seekToLastWord = seekToLastWord
        return try WhisperRecognizer(directory: ModelDirectory(path: Fixtures.whisperTinyEn), options: options)
    }

    static func detector() throws -> SileroVAD { try SileroVADTests.detector() }

    /// Where a window's words may be cut short of the reference's: nowhere; at the next window's
    /// start, on the input's timeline (`atNextWindow`, without VAD: the reference's windows); or,
    /// where speech-only times are restored to the input's, somewhere between the word's start
    /// and the next window's first word (`nearNextWindow`).
    enum Cuts { case none, atNextWindow, nearNextWindow }

    /// The same tokens in every segment, and segment and word times within 20 ms, but for the
    /// words `cuts` allows to end earlier: transcribe cuts a window's words at the next window's
    /// start, and faster-whisper does not.
    static func compare(_ ours: WhisperTranscription, _ theirs: Reference.Run, _ name: String, cuts: Cuts = .none) {
        #expect(ours.text == theirs.text.trimmingCharacters(in: .whitespaces), "\(name)")
        #expect(ours.segments.map(\.tokens) == theirs.segments.map(\.tokens), "\(name)")
        // Each window's seek (its first frame, 100 a second) and the next window's start.
        let seeks = Array(Set(theirs.segments.compactMap(\.seek))).sorted()
        let nextStart = Dictionary(uniqueKeysWithValues: zip(seeks, seeks.dropFirst().map { Double($0) / 100 }))
        let nearNext = cuts == .nearNextWindow ? windowCuts(ours) : [:]
        if cuts != .none {
            #expect(ours.segments.map(\.seek) == theirs.segments.compactMap(\.seek), "\(name)")
            // faster-whisper's words overlap at some of these windows' ends (4 in all); these may not.
            let words = ours.segments.flatMap(\.words)
            for (word, next) in zip(words, words.dropFirst()) {
                #expect(next.start >= word.end, "\(name): \(word.text) ends at \(word.end), after \(next.text) starts")
            }
        }
        func matches(_ start: Double, _ end: Double, _ theirStart: Double, _ theirEnd: Double, seek: Int) -> Bool {
            func near(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 0.0201 }
            switch cuts {
            case .atNextWindow:
                let cut = nextStart[seek] ?? .infinity
                return near(start, min(theirStart, cut)) && near(end, min(theirEnd, cut))
            case .nearNextWindow:
                if near(start, theirStart) && near(end, theirEnd) { return true }
                guard let window = nearNext[seek], end < theirEnd, end >= window.lastEnd else { return false }
                return end <= window.nextStart && near(start, min(theirStart, end))
            case .none:
                return near(start, theirStart) && near(end, theirEnd)
            }
        }
        for (segment, reference) in zip(ours.segments, theirs.segments) {
            #expect(
                matches(segment.start, segment.end, reference.start, reference.end, seek: segment.seek),
                "\(name): segment at \(segment.start)-\(segment.end) vs \(reference.start)-\(reference.end)")
            let words = reference.words ?? []
            #expect(segment.words.map(\.text) == words.map(\.text), "\(name)")
            for (word, theirs) in zip(segment.words, words) {
                #expect(
                    matches(word.start, word.end, theirs.start, theirs.end, seek: segment.seek),
                    "\(name): \(word.text) at \(word.start)-\(word.end) vs \(theirs.start)-\(theirs.end)")
            }
        }
    }

    /// Per window (by its `seek`) followed by another: the end of its last word, which only that
    /// word can reach, and the start of the next window's first word.
    static func windowCuts(_ transcription: WhisperTranscription) -> [Int: (lastEnd: Double, nextStart: Double)] {
        let windows = Dictionary(grouping: transcription.segments, by: \.seek).sorted { $0.key < $1.key }
        var cuts: [Int: (lastEnd: Double, nextStart: Double)] = [:]
        for (window, next) in zip(windows, windows.dropFirst()) {
            guard let last = window.value.last?.words.last, let first = next.value.first?.words.first else { continue }
            cuts[window.key] = (last.end, first.start)
        }
        return cuts
    }

    @Test func theReferenceIsPresent() throws {
        try TestEnvironment.requireSharedSamples()
        #expect(Self.names.count == 3)
    }

    /// `--vad`: the regions faster-whisper finds, and the sequential algorithm over their speech
    /// gives its tokens, segments and words, on the input's timeline (with word timestamps, as
    /// the command line always decodes), each window starting at the last timestamp of the one
    /// before, as the command line does. faster-whisper is run so (`*_timestamps`, one call
    /// patched): its own word timestamps start a window at the previous one's last word.
    @Test(arguments: names)
    func sequentialOverTheSpeechAsFasterWhisper(_ name: String) throws {
        let recording = try #require(Self.reference?.recordings[name])
        let (ours, regions) = try Self.sequentialOverTheSpeech(recording, wordTimestamps: true)
        #expect(regions == recording.speech["default"], "\(name)")
        Self.compare(ours, try #require(recording.runs["sequential_vad_timestamps"]), name, cuts: .nearNextWindow)
    }

    /// The command line's default, without `--vad`, on the same recordings.
    @Test(arguments: names)
    func sequentialAsFasterWhisper(_ name: String) throws {
        let recording = try #require(Self.reference?.recordings[name])
        let samples = try Self.build(recording)
        let ours = try Self.recognizer(wordTimestamps: true).transcribe(samples: samples)
        Self.compare(ours, try #require(recording.runs["sequential_novad_timestamps"]), name, cuts: .atNextWindow)
    }

    /// `seekToLastWord`: each window starts at the previous one's last word, exactly as
    /// faster-whisper with `word_timestamps=True`, with and without its VAD.
    @Test(arguments: names)
    func seekingToTheLastWordAsFasterWhisper(_ name: String) throws {
        let recording = try #require(Self.reference?.recordings[name])
        let (ours, _) = try Self.sequentialOverTheSpeech(recording, wordTimestamps: true, seekToLastWord: true)
        Self.compare(ours, try #require(recording.runs["sequential_vad"]), "\(name) vad")
        let whole = try Self.recognizer(wordTimestamps: true, seekToLastWord: true).transcribe(
            samples: try Self.build(recording))
        Self.compare(whole, try #require(recording.runs["sequential_novad"]), name)
    }

    /// The sequential algorithm over the speech of faster-whisper's default regions, on the
    /// input's timeline, and those regions as `[start, end]` samples.
    static func sequentialOverTheSpeech(
        _ recording: Reference.Recording, wordTimestamps: Bool, seekToLastWord: Bool = false
    ) throws -> (WhisperTranscription, [[Int]]) {
        let filter = SpeechFilter(
            source: Samples(try build(recording)), detector: try detector(), options: SpeechRegionOptions())
        let recognition = try recognizer(wordTimestamps: wordTimestamps, seekToLastWord: seekToLastWord).recognize(
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
