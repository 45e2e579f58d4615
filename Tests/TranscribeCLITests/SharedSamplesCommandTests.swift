import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// The binary over every real recording in ../shared/samples in one batch.
@Suite(
    .enabled(
        if: TestEnvironment.runs(needing: SharedSamples.available),
        "../shared/samples is absent: real-recording tests skipped"))
struct SharedSamplesCommandTests {
    @Test func transcribesEveryRecordingInOneRun() throws {
        let model = Fixtures.models.appendingPathComponent("large-prenorm-f16").path
        let run = try Run(["--model", model] + SharedSamples.rows.map(\.path))
        #expect(run.status == 0)
        #expect(
            run.stdout.split(separator: "\n", omittingEmptySubsequences: false).count == SharedSamples.rows.count + 1)
        // The LibriVox MP3's last frame is cut off: its readable part is used, with one warning,
        // and the MP3 decoder's own notes do not reach stderr.
        let warnings = run.stderr.split(separator: "\n")
        #expect(warnings.count == 1)
        #expect(
            warnings.first?.contains("librivox-pie-and-patty-pan_48k_stereo.mp3: warning: truncated") == true,
            "\(run.stderr)")
    }
}
