import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Whisper tiny.en's word times against faster-whisper's (`word_timestamps=True`, the same
/// weights, the audio read as this tool reads it): Tests/Fixtures/whisper/faster-whisper-tiny.en-words.json,
/// made by scripts/fixtures/make-faster-whisper-words.py. The same words, and start and end within
/// one 20 ms step on at least 98% of them. One recording (ls-dev-clean_1272-128104-0004_8k, 28.9 s)
/// takes a second window, which faster-whisper with word timestamps starts at the first one's last
/// word: the test does the same (`seekToLastWord`), and the second window then hears "Next man."
/// (by default, as faster-whisper without word timestamps, it starts at the last timestamp, where
/// 0.4 s are left and nothing is heard).
@Suite(
    .enabled(
        if: TestEnvironment.runs(needing: SharedSamples.available),
        "../shared/samples is absent: real-recording tests skipped"))
struct WhisperWordTimingTests {
    struct Reference: Decodable {
        struct Word: Decodable { let word: String; let start: Double; let end: Double; let probability: Double }
        struct Segment: Decodable { let start: Double; let end: Double; let words: [Word] }
        let files: [String: [Segment]]
    }

    @Test func wordTimesMatchFasterWhisper() throws {
        try TestEnvironment.requireSharedSamples()
        let url = Fixtures.root.appendingPathComponent("whisper/faster-whisper-tiny.en-words.json")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        let recognizer = try WhisperTinyEnTests.transcriber(
            setting: "defaults", wordTimestamps: true, seekToLastWord: true)
        var differences: [Double] = []
        var report: [String] = []
        for row in SharedSamples.rows {
            let name = URL(fileURLWithPath: row.path).lastPathComponent
            let expected = try #require(reference.files[name]).flatMap(\.words)
            let stream = try AudioStream(path: row.path, sampleRate: recognizer.sampleRate)
            var samples: [Float] = []
            while case let block = try stream.next(), !block.isEmpty { samples += block }
            let words = recognizer.transcribe(samples: samples).segments.flatMap(\.words)
            #expect(words.map(\.text) == expected.map(\.word), "\(name)")
            for (ours, theirs) in zip(words, expected) {
                let difference = max(abs(ours.start - theirs.start), abs(ours.end - theirs.end))
                differences.append(difference)
                if difference > 0.0201 {
                    report.append(
                        "\(name) \(ours.text): \(ours.start)-\(ours.end), faster-whisper \(theirs.start)-\(theirs.end)")
                }
                #expect(abs(ours.probability - theirs.probability) < 0.01, "\(name) \(ours.text)")
            }
        }
        let within = differences.filter { $0 <= 0.0201 }.count
        let exact = differences.filter { $0 < 0.001 }.count
        print("word times: \(differences.count) words, \(exact) equal, \(within) within 20 ms")
        for line in report { print("  " + line) }
        #expect(Double(within) >= 0.98 * Double(differences.count), "\(report.joined(separator: "\n"))")
    }
}
