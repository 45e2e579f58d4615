import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// The real recordings in ../shared/samples (see its README): every one decodes with the rate,
/// channels and length transcripts.tsv gives.
@Suite(
    .enabled(
        if: TestEnvironment.runs(needing: SharedSamples.available),
        "../shared/samples is absent: real-recording tests skipped"))
struct SharedSamplesTests {
    /// Under CI the folder must be there: the tests below take their cases from it and would
    /// otherwise pass with none.
    @Test func theRecordingsArePresent() throws {
        try TestEnvironment.requireSharedSamples()
        #expect(SharedSamples.rows.count >= 25)
    }

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
}
