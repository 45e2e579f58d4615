import Foundation
import Testing

@testable import TranscribeKit

/// The real recordings in ../shared/samples (see its README): every one decodes with the rate,
/// channels and length transcripts.tsv gives, and the binary transcribes them all in one batch.
@Suite(.enabled(if: SharedSamples.available, "../shared/samples is absent: real-recording tests skipped"))
struct SharedSamplesTests {
    @Test(arguments: SharedSamples.rows)
    func decodesAsDescribed(_ row: SharedSamples.Row) throws {
        let audio = try DecodedAudio(path: row.path)
        #expect(audio.sampleRate == row.sampleRate)
        #expect(audio.channels == row.channels)
        #expect(abs(audio.duration - row.seconds) < 0.05, "decoded \(audio.duration) s")
        let resampled = try audio.resampled(to: 16_000)
        #expect(abs(Double(resampled.count) / 16_000 - audio.duration) < 0.001)
        #expect(resampled.allSatisfy { $0.isFinite && abs($0) <= 1.5 })
    }

    @Test func transcribesEveryRecordingInOneRun() throws {
        let model = Fixtures.models.appendingPathComponent("large-prenorm-f16").path
        let run = try Run(["--model", model] + SharedSamples.rows.map(\.path))
        #expect(run.status == 0)
        #expect(run.stdout.split(separator: "\n", omittingEmptySubsequences: false).count == SharedSamples.rows.count + 1)
        // The LibriVox MP3's last frame is cut off: its readable part is used, with one warning,
        // and the MP3 decoder's own notes do not reach stderr.
        let warnings = run.stderr.split(separator: "\n")
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("librivox-pie-and-patty-pan_48k_stereo.mp3: warning: truncated") == true, "\(run.stderr)")
    }
}

enum SharedSamples {
    struct Row: Sendable, CustomTestStringConvertible {
        let path: String
        let seconds: Double
        let sampleRate: Int
        let channels: Int
        var testDescription: String { URL(fileURLWithPath: path).lastPathComponent }
    }

    static var available: Bool { !rows.isEmpty }

    /// transcripts.tsv: file, seconds, sample_rate, channels, format, reference_transcript, ...
    static let rows: [Row] = {
        let table = Fixtures.sharedSamples.appendingPathComponent("transcripts.tsv")
        guard let text = try? String(contentsOf: table, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 4, let seconds = Double(fields[1]), let rate = Int(fields[2]), let channels = Int(fields[3])
            else { return nil }
            return Row(path: Fixtures.sharedSamples.appendingPathComponent(fields[0]).path,
                       seconds: seconds, sampleRate: rate, channels: channels)
        }
    }()
}
