import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// What is printed while an input is still being recognized (`decidedPart`) is always the
/// beginning of what the whole result prints, and each update only adds to the one before.
@Suite struct DecidedOutputTests {
    static let segmenter = Segmenter()

    /// Every format's decided parts, for recognitions that each hold the words of the one before
    /// and more: each part starts with the one before, and the whole output starts with each.
    func expectPrefixes(_ partials: [Recognition], final: Recognition) {
        for format in OutputFormat.allCases {
            for segmentRecords in format == .jsonl ? [false, true] : [false] {
                let options = OutputOptions(segmentRecords: segmentRecords)
                let whole = final.output(input: "talk.wav", model: "m", transcript: final.transcript)
                    .rendered(as: format, options: options)
                var previous = ""
                for partial in partials {
                    let decided = partial.decidedSegments(Self.segmenter)
                    let part = decided.output(input: "talk.wav", model: "m", transcript: decided.transcript)
                        .decidedPart(as: format, options: options)
                    #expect(
                        part.hasPrefix(previous),
                        "\(format): \(previous.debugDescription) then \(part.debugDescription)")
                    #expect(whole.hasPrefix(part), "\(format): \(part.debugDescription) of \(whole.debugDescription)")
                    previous = part
                }
            }
        }
    }

    /// CTC words come one at a time: "HI YOU", a pause, "THERE", a pause, "AGAIN". A group of
    /// words is decided once a word after a pause is; txt then has its line, srt every cue but the
    /// last (whose end waits for the next start).
    @Test func ctcWordsAreDecidedAtPauses() {
        typealias Timing = TimedTranscript.CharacterTiming
        let words = [("HI", 0.1, 0.2), ("YOU", 0.3, 0.5), ("THERE", 1.5, 1.9), ("AGAIN", 3.0, 3.4)].map {
            TimedTranscript.Word(characters: [Timing(text: $0.0, start: $0.1, end: $0.2, confidence: 0.9)])
        }
        func recognition(_ count: Int) -> Recognition {
            Recognition(
                transcript: TimedTranscript(
                    text: words[..<count].map(\.text).joined(separator: " "), duration: 4, words: Array(words[..<count])
                ),
                segmentWords: nil, emissions: nil)
        }
        let partials = (0...words.count).map(recognition)
        expectPrefixes(partials, final: recognition(words.count))

        func decided(_ count: Int, _ format: OutputFormat) -> String {
            let cut = recognition(count).decidedSegments(Self.segmenter)
            return cut.output(input: "talk.wav", model: "m", transcript: cut.transcript).decidedPart(as: format)
        }
        #expect(decided(2, .txt) == "")
        #expect(decided(3, .txt) == "HI YOU\n")
        #expect(decided(4, .txt) == "HI YOU\nTHERE\n")
        #expect(decided(3, .srt) == "")
        #expect(decided(4, .srt) == "1\n00:00:00,100 --> 00:00:00,933\nHI YOU\n\n")
        #expect(decided(4, .tsv).split(separator: "\n").count == 4)  // the header and three words
    }

    /// A CTC stream cut into many small windows: each update's words are the final words'
    /// beginning, none is left open at a window's edge, and the decided parts are prefixes.
    @Test func ctcUpdatesHoldOnlyClosedWords() throws {
        let recognizer = try Wav2Vec2Recognizer(
            directory: Fixtures.model("base-postnorm-f32"), maximumWindowSeconds: 1, contextSeconds: 0.25)
        var samples: [Float] = []
        for clip in ["quick_brown_fox", "numbers", "question", "hello_world"] {
            samples += try AudioFile(path: Fixtures.clip(clip)).readMono() + [Float](repeating: 0, count: 12_000)
        }
        var partials: [Recognition] = []
        var heard: [Double] = []
        let final = try recognizer.recognize(
            stream: ArraySource(samples, sampleRate: 16_000), keepingEmissions: false,
            updates: RecognitionUpdates(heard: { heard.append($0) }, decided: { partials.append($0) }))
        #expect(partials.count >= 10)
        #expect(heard == heard.sorted() && abs(heard.last! - final.duration) < 0.03)
        for partial in partials {
            #expect(Array(final.transcript.words.prefix(partial.transcript.words.count)) == partial.transcript.words)
        }
        #expect(
            partials.contains {
                !$0.transcript.words.isEmpty && $0.transcript.words.count < final.transcript.words.count
            })
        expectPrefixes(partials, final: final)
    }

    /// Whisper's decided segments are those of the windows done; its output never waits for a
    /// pause. On the shared recordings joined into 80 s (three windows).
    @Test func whisperUpdatesFollowTheWindows() throws {
        try TestEnvironment.requireSharedSamples()
        let recognizer = try WhisperSpeechDetectionTests.recognizer(wordTimestamps: true)
        var samples: [Float] = []
        for name in [
            "jfk_inaugural_1961.flac", "ljspeech_LJ001-0001.wav", "ljspeech_LJ001-0002.wav",
            "ljspeech_LJ001-0003.wav", "ls-dev-clean_2412-153948-0000.flac",
        ] {
            let stream = try AudioStream(
                path: Fixtures.sharedSamples.appendingPathComponent(name).path, sampleRate: 16_000)
            while case let block = try stream.next(), !block.isEmpty { samples += block }
        }
        var partials: [Recognition] = []
        let final = try recognizer.recognize(
            stream: ArraySource(samples, sampleRate: 16_000), keepingEmissions: false,
            updates: RecognitionUpdates(decided: { partials.append($0) }))
        #expect(partials.count >= 2)
        #expect(partials.last?.whisper == final.whisper)
        #expect(partials.first.map { $0.transcript.words.count < final.transcript.words.count } == true)
        expectPrefixes(partials, final: final)
    }
}

/// Samples handed out in blocks of a tenth of a second.
final class ArraySource: SampleSource {
    let sampleRate: Int
    private var samples: ArraySlice<Float>

    init(_ samples: [Float], sampleRate: Int) {
        self.samples = samples[...]
        self.sampleRate = sampleRate
    }

    func next() throws -> [Float] {
        let block = samples.prefix(sampleRate / 10)
        samples = samples.dropFirst(block.count)
        return Array(block)
    }
}
