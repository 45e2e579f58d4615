import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Under an address-space limit (`ulimit -v`), OpenBLAS used to retry its buffer allocation
/// forever. Now the run needs its memory up front: too little ends it at once with one line and
/// status 3; enough runs it as without a limit.
@Suite(
    .disabled(
        if: ProcessInfo.processInfo.environment["TRANSCRIBE_SANITIZER"] != nil,
        "a sanitizer's shadow memory is larger than any limit"))
struct MemoryLimitTests {
    static let model = Fixtures.models.appendingPathComponent("large-prenorm-f16").path

    /// KiB the binary has mapped once its model is loaded: measured while it waits on a named pipe
    /// whose writer has not written yet.
    static func mappedOnceLoaded() throws -> Int {
        try withTemporaryDirectory { directory in
            let fifo = directory.appendingPathComponent("wait.wav").path
            let run = try Run.shell(
                """
                mkfifo '\(fifo)'
                sleep 60 > '\(fifo)' & writer=$!
                "$TRANSCRIBE" --threads 1 --model '\(model)' '\(fifo)' > /dev/null 2>&1 & pid=$!
                for i in $(seq 300); do grep -q poll /proc/$pid/wchan 2>/dev/null && break; sleep 0.1; done
                awk '/^VmSize/ { print $2 }' /proc/$pid/status
                kill $pid $writer
                """)
            return try #require(Int(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
    }

    func run(limit kibibytes: Int) throws -> Run {
        try Run.shell(
            "ulimit -v \(kibibytes); exec timeout 300 \"$TRANSCRIBE\" --threads 1 --model '\(Self.model)' '\(Fixtures.clip("numbers"))'"
        )
    }

    @Test func tooLittleEndsTheRunWithOneLine() throws {
        let tight = try run(limit: try Self.mappedOnceLoaded() + 100 * 1024)
        #expect(tight.status == 3)
        #expect(tight.stderr.hasPrefix("transcribe: not enough memory to run the model: it needs about "))
        #expect(tight.stderr.split(separator: "\n").count == 1)
        #expect(tight.stdout.isEmpty)
    }

    @Test func enoughRunsAsWithoutALimit() throws {
        let roomy = try run(limit: try Self.mappedOnceLoaded() + 600 * 1024)
        #expect(roomy.status == 0)
        #expect(roomy.stdout == (try Run(["--threads", "1", "--model", Self.model, Fixtures.clip("numbers")])).stdout)
    }
}
