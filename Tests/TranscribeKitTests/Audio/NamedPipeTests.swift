import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Named pipes and devices as inputs: read without hanging.
@Suite struct NamedPipeTests {
    @Test func aPipeWithNoWriterIsAnErrorNotAHang() throws {
        try withTemporaryDirectory { directory in
            let fifo = directory.appendingPathComponent("empty.wav").path
            #expect(mkfifo(fifo, 0o600) == 0)
            #expect(throws: AudioError.cannotOpen(path: fifo, reason: "no data")) { _ = try AudioFile(path: fifo) }
        }
    }

    @Test func devNullIsEmpty() {
        #expect(throws: AudioError.cannotOpen(path: "/dev/null", reason: "no data")) {
            _ = try AudioFile(path: "/dev/null")
        }
    }
}
