import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Live recognition on a stream fed in blocks of any size: CTC gives exactly the words of the
/// offline pass with the same windows; Whisper's final words are its offline transcript's within
/// a few words; and the live writer cuts segments as the words come.
@Suite struct LiveRecognitionTests {
    /// The clips of the fixtures joined, with 0.75 s of silence after each.
    static func speech() throws -> [Float] {
        var samples: [Float] = []
        for clip in ["quick_brown_fox", "numbers", "question", "hello_world"] {
            samples += try AudioFile(path: Fixtures.clip(clip)).readMono() + [Float](repeating: 0, count: 12_000)
        }
        return samples
    }

    /// Feeds `samples` in blocks of pseudo-random sizes; returns every final word and whether a
    /// guess was ever given.
    static func live(_ recognition: any LiveRecognition, _ samples: [Float], seed: UInt64) throws
        -> (words: [TimedTranscript.Word], guessed: Bool, heard: Double)
    {
        var generator = SplitMix64(seed: seed)
        var words: [TimedTranscript.Word] = []
        var guessed = false
        var offset = 0
        while offset < samples.count {
            let size = 160 + Int(generator.next() % 9_000)
            let block = Array(samples[offset..<min(samples.count, offset + size)])
            offset += block.count
            if let update = try recognition.feed(block) {
                words += update.confirmed
                guessed = guessed || !update.tentative.isEmpty
            }
        }
        let last = try recognition.finish()
        #expect(last.tentative.isEmpty)
        return (words + last.confirmed, guessed, last.heard)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func ctcLiveIsTheOfflinePassWithItsWindows(seed: UInt64) throws {
        let directory = Fixtures.model("base-postnorm-f32")
        let samples = try Self.speech()
        let offline = try Wav2Vec2Recognizer(
            directory: directory, maximumWindowSeconds: CTCLiveRecognition.windowSeconds,
            contextSeconds: CTCLiveRecognition.contextSeconds)
        let windowed = try offline.recognize(stream: ArraySource(samples, sampleRate: 16_000), keepingEmissions: false)
        let (words, guessed, heard) = try Self.live(
            try Wav2Vec2Recognizer(directory: directory).liveRecognition(), samples, seed: seed)
        #expect(words == windowed.transcript.words)
        #expect(words.count > 3)
        #expect(guessed)
        #expect(abs(heard - Double(samples.count) / 16_000) < 0.03)
    }

    /// tiny.en on two shared recordings: the live words are the offline words but for a few.
    @Test func whisperLiveAgreesWithOffline() throws {
        try TestEnvironment.requireSharedSamples()
        let recognizer = try WhisperSpeechDetectionTests.recognizer(wordTimestamps: true)
        var samples: [Float] = []
        for name in ["jfk_inaugural_1961.flac", "ls-dev-clean_2412-153948-0000.flac"] {
            let stream = try AudioStream(
                path: Fixtures.sharedSamples.appendingPathComponent(name).path, sampleRate: 16_000)
            while case let block = try stream.next(), !block.isEmpty { samples += block }
            samples += [Float](repeating: 0, count: 16_000)
        }
        let offline = try recognizer.recognize(
            stream: ArraySource(samples, sampleRate: 16_000), keepingEmissions: false)
        let (words, _, _) = try Self.live(try recognizer.liveRecognition(), samples, seed: 7)
        func normalized(_ words: [TimedTranscript.Word]) -> [String] {
            words.map { String($0.text.lowercased().unicodeScalars.filter(CharacterSet.alphanumerics.contains)) }
        }
        let (live, reference) = (normalized(words), normalized(offline.transcript.words))
        let distance = editDistance(live, reference)
        // Measured: 6 of 58 ("my" heard as "am I", and "Thank you." where the speech
        // stops and nothing follows).
        #expect(Double(distance) <= 0.15 * Double(reference.count), "\(live) vs \(reference)")
        // Final words come in order, and each lies where its offline word does, within a second.
        #expect(zip(words, words.dropFirst()).allSatisfy { $0.start <= $1.start })
        for (word, match) in zip(words, offline.transcript.words) where normalized([word]) == normalized([match]) {
            #expect(abs(word.end - match.end) < 1, "\(word.text)")
        }
    }

    /// Segments end at a pause or where the next word would break the limits; txt writes each
    /// word at once, srt a cue once the next word's start is known.
    @Test func liveOutputCutsSegmentsAsWordsCome() throws {
        typealias Timing = TimedTranscript.CharacterTiming
        let words = [("HI", 0.1, 0.2), ("YOU", 0.3, 0.5), ("THERE", 1.5, 1.9), ("AGAIN", 2.0, 2.3)].map {
            TimedTranscript.Word(characters: [Timing(text: $0.0, start: $0.1, end: $0.2, confidence: 0.9)])
        }
        var txt = try #require(LiveOutput(format: .txt, input: "-", model: "m", options: OutputOptions()))
        #expect(txt.add(Array(words[..<2])) == "HI YOU")
        #expect(txt.add([words[2]]) == "\nTHERE")
        #expect(txt.add([words[3]]) + txt.finish(heard: 3) == " AGAIN\n")

        var srt = try #require(LiveOutput(format: .srt, input: "-", model: "m", options: OutputOptions()))
        #expect(srt.add(Array(words[..<2])) == "")
        #expect(srt.add([words[2]]) == "1\n00:00:00,100 --> 00:00:00,933\nHI YOU\n\n")
        #expect(srt.add([words[3]]) + srt.finish(heard: 2.5) == "2\n00:00:01,500 --> 00:00:02,333\nTHERE AGAIN\n\n")

        var jsonl = try #require(LiveOutput(format: .jsonl, input: "-", model: "m", options: OutputOptions()))
        let records = (jsonl.add(words) + jsonl.finish(heard: 3)).split(separator: "\n")
        #expect(records.count == 2)
        let second = try JSONSerialization.jsonObject(with: Data(records[1].utf8)) as? [String: Any]
        #expect(second?["id"] as? Int == 1 && second?["text"] as? String == "THERE AGAIN")
        #expect(LiveOutput(format: .json, input: "-", model: "m", options: OutputOptions()) == nil)
    }
}
