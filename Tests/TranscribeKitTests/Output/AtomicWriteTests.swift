import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Output files written whole or not at all, and temporaries of dead processes cleared.
@Suite struct AtomicWriteTests {
    @Test func writesWholeFilesAndRemovesOnlyDeadProcessesTemporaries() throws {
        try withTemporaryDirectory { directory in
            let target = directory.appendingPathComponent("out.json").path
            try writeAtomically(Data("{}".utf8), to: target)
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "{}")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.json"])

            // A temporary file of a process that has exited, and one of this live process.
            let finished = Process()
            finished.executableURL = URL(fileURLWithPath: "/bin/true")
            try finished.run()
            finished.waitUntilExit()
            let dead = ".out.json.\(finished.processIdentifier).ABCDEF12.tmp"
            let live = ".out.json.\(getpid()).ABCDEF12.tmp"
            for name in [dead, live] { try Data("partial".utf8).write(to: directory.appendingPathComponent(name)) }
            #expect(removeStaleTemporaryFiles(in: directory.path) == 1)
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
                    == [live, "out.json"].sorted())
        }
    }
}
