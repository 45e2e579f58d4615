import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Output files written whole or not at all, never over an input, and the temporaries of dead
/// runs cleared without touching those of live runs elsewhere.
@Suite struct AtomicWriteTests {
    @Test func writesWholeFilesAndLeavesNoTemporary() throws {
        try withTemporaryDirectory { directory in
            let target = BytePath(directory.appendingPathComponent("out.json").path)
            try writeAtomically(Data("{}".utf8), to: target)
            #expect(try String(contentsOfFile: target.string!, encoding: .utf8) == "{}")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.json"])
        }
    }

    @Test func neverReplacesAnInputOrAFolder() throws {
        try withTemporaryDirectory { directory in
            let input = BytePath(directory.appendingPathComponent("clip.txt").path)
            try Data("audio".utf8).write(to: URL(fileURLWithPath: input.string!))
            let identity = try #require(FileIdentity(path: input))
            #expect(throws: OutputError(path: input, reason: "it is one of the inputs, which are never overwritten")) {
                try writeAtomically(Data("text".utf8), to: input, protecting: [identity])
            }
            #expect(try String(contentsOfFile: input.string!, encoding: .utf8) == "audio")
            #expect(throws: OutputError(path: BytePath(directory.path), code: EISDIR)) {
                try writeAtomically(Data("text".utf8), to: BytePath(directory.path))
            }
        }
    }

    /// A temporary name fits in 255 bytes whenever its target's does.
    @Test(arguments: [1, 100, 200, 236, 255])
    func temporaryNamesFitWhenTheNameFits(length: Int) {
        let target = BytePath(String(repeating: "n", count: length))
        let name = TemporaryFiles.name(for: target)
        #expect(name.bytes.count <= 255)
        #expect(name.bytes.first == UInt8(ascii: "."))
        #expect(name.string!.hasSuffix(".tmp"))
        #expect(name.string!.contains(".\(getpid())@"))
    }

    @Test func clearsOnlyTemporariesProvablyLeftOver() throws {
        try withTemporaryDirectory { directory in
            let owner = TemporaryFiles.owner.split(separator: "@")
            let finished = Process()
            finished.executableURL = URL(fileURLWithPath: "/bin/true")
            try finished.run()
            finished.waitUntilExit()
            let dead = finished.processIdentifier
            let names = [
                "mine-dead": ".a.json.\(dead)@\(owner[1])@\(owner[2]).0123abcd.tmp",
                "mine-live": ".b.json.\(getpid())@\(owner[1])@\(owner[2]).0123abcd.tmp",
                "other-namespace": ".c.json.\(dead)@\(owner[1])@1.0123abcd.tmp",
                "other-host": ".d.json.\(dead)@elsewhere@\(owner[2]).0123abcd.tmp",
                "other-host-old": ".e.json.\(dead)@elsewhere@\(owner[2]).0123abcd.tmp",
                "legacy-dead": ".f.json.\(dead).ABCDEF12.tmp",
                "not-ours": ".g.json.tmp",
            ]
            for name in names.values { try Data("partial".utf8).write(to: directory.appendingPathComponent(name)) }
            var dayAndAHalfAgo = [timeval](repeating: timeval(tv_sec: time(nil) - 36 * 3600, tv_usec: 0), count: 2)
            #expect(utimes(directory.appendingPathComponent(names["other-host-old"]!).path, &dayAndAHalfAgo) == 0)

            #expect(removeStaleTemporaryFiles(in: BytePath(directory.path)) == 3)
            let left = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
            #expect(left == Set(["mine-live", "other-namespace", "other-host", "not-ours"].map { names[$0]! }))
        }
    }
}

/// What --skip-existing counts as a whole output.
@Suite struct CompleteOutputTests {
    @Test func eachFormatKnowsAWholeDocument() {
        let output = TranscriptOutput(
            input: "a.wav", model: "m", transcript: handMadeTranscript([("HELLO", 0, 0.5)], duration: 1))
        for format in OutputFormat.allCases {
            let document = Data(output.rendered(as: format, options: OutputOptions()).utf8)
            #expect(format.isComplete(document), "\(format)")
            #expect(!format.isComplete(document.dropLast()), "\(format) cut short")
            #expect(!format.isComplete(document.prefix(document.count / 2)), "\(format) cut in half")
            #expect(format == .srt || !format.isComplete(Data()), "\(format) empty")
        }
        // No speech: an empty srt is whole, the other formats still end their document.
        let silence = TranscriptOutput(input: "a.wav", model: "m", transcript: handMadeTranscript([], duration: 1))
        for format in OutputFormat.allCases {
            #expect(format.isComplete(Data(silence.rendered(as: format, options: OutputOptions()).utf8)), "\(format)")
        }
    }
}
