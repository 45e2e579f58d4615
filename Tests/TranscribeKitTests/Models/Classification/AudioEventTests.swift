import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Events along recordings built from known words and sounds at known times, with tiny models
/// trained on such audio (scripts/fixtures/train-event-fixtures.py): every event is found once, with
/// its label, where it is, and nothing else is.
///
/// How close an event's ends can be depends on how much of a window the model needs to name what
/// it hears. A word shorter than a window is named by the windows that hold it whole, and is found
/// within one hop. The tagger was trained to name a sound that fills as little as 15% of a window,
/// so a window that merely touches a sound names it: a sound's ends are found within half a window
/// and half a hop (measured: 0.47 and 0.59 s, with 1.015 s windows every 0.5075 s).
@Suite struct AudioEventTests {
    static let root = Fixtures.root.appendingPathComponent("classification/events")

    struct TrueEvent: Decodable {
        let label: String
        let start: Double
        let end: Double
    }

    static func truth(_ recording: String) throws -> [TrueEvent] {
        let all = try JSONDecoder().decode(
            [String: [TrueEvent]].self, from: Data(contentsOf: root.appendingPathComponent("truth.json")))
        return try #require(all[recording])
    }

    static func classify(_ model: String, _ recording: String, _ options: ClassificationOptions) throws
        -> (AudioClassification, window: Double, hop: Double)
    {
        let classifier = try AudioClassifier(
            directory: ModelDirectory(path: root.appendingPathComponent(model).path),
            architecture: model == "sound-tagger" ? "ASTForAudioClassification" : "Wav2Vec2ForSequenceClassification",
            options: options)
        let stream = try AudioStream(path: root.appendingPathComponent(recording).path, sampleRate: 16_000)
        return (
            try classifier.classify(stream: stream), Double(classifier.windowSamples) / 16_000,
            Double(classifier.hopSamples) / 16_000
        )
    }

    static func expectFound(_ truth: [TrueEvent], in events: [AudioEvent], within tolerance: Double) {
        #expect(events.count == truth.count, "\(events)")
        for expected in truth {
            let match = events.first {
                $0.label == expected.label && $0.end > expected.start && $0.start < expected.end
            }
            guard let match else {
                Issue.record("\(expected.label) at \(expected.start)-\(expected.end) not found in \(events)")
                continue
            }
            #expect(abs(match.start - expected.start) <= tolerance, "\(expected.label): starts at \(match.start)")
            #expect(abs(match.end - expected.end) <= tolerance, "\(expected.label): ends at \(match.end)")
        }
    }

    /// "yes", "no" and "stop", said twice each over quiet noise, with the keyword spotter's
    /// defaults (1 s windows every 0.5 s): six events.
    @Test func keywordsAreFoundWhereTheyWereSaid() throws {
        let (result, _, hop) = try Self.classify("keyword-spotter", "recording.wav", ClassificationOptions())
        #expect(hop == 0.5)
        Self.expectFound(try Self.truth("recording.wav"), in: result.events, within: hop)
    }

    /// --keywords keeps the events of the labels named.
    @Test func keywordsChooseTheEvents() throws {
        var options = ClassificationOptions()
        options.eventLabels = ["stop"]
        let (result, _, hop) = try Self.classify("keyword-spotter", "recording.wav", options)
        Self.expectFound(
            try Self.truth("recording.wav").filter { $0.label == "stop" }, in: result.events, within: hop)
    }

    /// A tone, a burst of noise and a chirp between silences, with the tagger's default windows
    /// (its whole input, 1.015 s, every half window).
    @Test func soundsAreFoundWhereTheyWere() throws {
        var options = ClassificationOptions()
        options.eventLabels = ["Sine wave", "White noise", "Chirp"]
        let (result, window, hop) = try Self.classify("sound-tagger", "sounds.wav", options)
        Self.expectFound(try Self.truth("sounds.wav"), in: result.events, within: (window + hop) / 2)
    }
}
