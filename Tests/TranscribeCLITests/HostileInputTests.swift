import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Inputs from the wild, each in a batch between two good files: an error line and status 1 for
/// what cannot be transcribed, a transcript (and for a truncated file a warning) for what can;
/// never a crash, and the good files always transcribed.
@Suite struct HostileInputTests {
    static let model = Fixtures.models.appendingPathComponent("large-prenorm-f16").path

    enum Expected: Sendable { case error(String), transcript, warning(String) }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: @Sendable () -> Data
        let expected: Expected
        var testDescription: String { name }
    }

    static func pcm16(_ samples: [Float], rate: UInt32 = 16_000, channels: UInt16 = 1, claimedDataSize: UInt32? = nil)
        -> Data
    {
        wavBytes(
            format: 1, channels: channels, sampleRate: rate, bitsPerSample: 16,
            payload: littleEndianBytes(samples.map { Int16(max(-32768, min(32767, ($0 * 32768).rounded()))) }),
            claimedDataSize: claimedDataSize)
    }

    static let speech: [Float] = (try? loadAudio(path: Fixtures.clip("numbers"), sampleRate: 16_000)) ?? []

    static let cases: [Case] = [
        Case(
            name: "shorter than the receptive field", bytes: { pcm16([Float](repeating: 0.1, count: 100)) },
            expected: .transcript),
        Case(name: "pure silence", bytes: { pcm16([Float](repeating: 0, count: 16_000)) }, expected: .transcript),
        Case(name: "full-scale clipping", bytes: { pcm16(speech.map { $0 > 0 ? 1 : -1 }) }, expected: .transcript),
        Case(name: "DC offset", bytes: { pcm16(speech.map { $0 * 0.5 + 0.5 }) }, expected: .transcript),
        Case(
            name: "1 Hz", bytes: { pcm16(speech, rate: 1) }, expected: .error("cannot resample from 1 Hz to 16000 Hz")),
        Case(
            name: "10 MHz", bytes: { pcm16(speech, rate: 10_000_000) },
            expected: .error("cannot resample from 10000000 Hz")),
        Case(
            name: "255 channels", bytes: { pcm16([Float](repeating: 0.1, count: 255 * 800), channels: 255) },
            expected: .transcript),
        Case(
            name: "header claims 4 GB", bytes: { pcm16(speech, claimedDataSize: 0xFFFF_FFF0) },
            expected: .warning("truncated: the header's data size")),
        Case(
            name: "truncated WAV",
            bytes: {
                let whole = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.clip("numbers")))
                return whole.prefix(whole.count / 2)
            }, expected: .warning("truncated: the header's data size is larger than the file")),
        Case(
            name: "NaN samples",
            bytes: {
                wavBytes(
                    format: 3, channels: 1, sampleRate: 16_000, bitsPerSample: 32,
                    payload: littleEndianBytes([Float](repeating: .nan, count: 4000)))
            }, expected: .error("samples are NaN or infinite")),
        Case(
            name: "text named .wav", bytes: { Data("just some text, not audio at all\n".utf8) },
            expected: .error("cannot open:")),
        Case(name: "empty file", bytes: { Data() }, expected: .error("cannot open: file is empty")),
    ]

    @Test(arguments: cases)
    func aBadInputIsReportedAndTheBatchGoesOn(_ testCase: Case) throws {
        try withTemporaryDirectory { directory in
            let bad = directory.appendingPathComponent("input.wav").path
            try testCase.bytes().write(to: URL(fileURLWithPath: bad))
            let good = Fixtures.clip("short")
            let run = try Run(["--model", Self.model, good, bad, good])
            let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            let errors = run.stderr.split(separator: "\n")
            #expect(lines.first?.hasPrefix(good + "\t") == true && lines.last?.hasPrefix(good + "\t") == true)
            switch testCase.expected {
            case .error(let reason):
                #expect(run.status == 1)
                #expect(lines.count == 2)
                #expect(errors.count == 1)
                #expect(
                    errors.first?.hasPrefix("transcribe: \(bad): ") == true && errors.first?.contains(reason) == true,
                    "\(run.stderr)")
            case .transcript:
                #expect(run.status == 0)
                #expect(lines.count == 3 && lines[1].hasPrefix(bad + "\t"))
                #expect(run.stderr == "")
            case .warning(let warning):
                #expect(run.status == 0)
                #expect(lines.count == 3 && lines[1].hasPrefix(bad + "\t"))
                #expect(errors.count == 1)
                #expect(errors.first?.hasPrefix("transcribe: \(bad): warning: \(warning)") == true, "\(run.stderr)")
            }
        }
    }
}
