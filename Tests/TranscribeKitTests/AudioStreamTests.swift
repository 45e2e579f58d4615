import Foundation
import Testing

@testable import TranscribeKit

/// Named pipes and devices as inputs: read without hanging, decoded from memory.
@Suite struct NamedPipeTests {
    @Test func aPipeWithNoWriterIsAnErrorNotAHang() throws {
        try withTemporaryDirectory { directory in
            let fifo = directory.appendingPathComponent("empty.wav").path
            #expect(mkfifo(fifo, 0o600) == 0)
            #expect(throws: AudioError.cannotOpen(path: fifo, reason: "no data")) { _ = try AudioFile(path: fifo) }
        }
    }

    @Test func aPipeWithAWriterIsTranscribed() throws {
        try withTemporaryDirectory { directory in
            let fifo = directory.appendingPathComponent("speech.wav").path
            #expect(mkfifo(fifo, 0o600) == 0)
            let clip = Fixtures.clip("short")
            let writer = try Run.shell("cat '\(clip)' > '\(fifo)' & sleep 0.2; \"$TRANSCRIBE\" --model '\(Fixtures.models.path)/large-prenorm-f16' '\(fifo)'")
            let direct = try Run(["--model", "\(Fixtures.models.path)/large-prenorm-f16", clip])
            #expect(writer.status == 0)
            #expect(writer.stdout == direct.stdout)
        }
    }

    @Test func devNullIsEmpty() {
        #expect(throws: AudioError.cannotOpen(path: "/dev/null", reason: "no data")) { _ = try AudioFile(path: "/dev/null") }
    }
}
