import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Nothing lost while the run says success, nothing overwritten: every write is checked, a
/// failed one is one plain line and status 1, and an output never replaces an input.
@Suite struct OutputSafetyTests {
    static let model = Fixtures.models.appendingPathComponent("large-prenorm-f16").path
    static let clips = ["short", "numbers"].map(Fixtures.clip)

    /// Runs as root in a mount namespace of its own, so a test can mount a small or read-only
    /// file system: under CI (root) always.
    static let canMount = TestEnvironment.runs(needing: getuid() == 0 && TestEnvironment.hasTool("unshare"))

    @Test func aFullStdoutIsAnErrorAndStopsTheRun() throws {
        let run = try Run.shell(
            "\"$TRANSCRIBE\" -q --model '\(Self.model)' '\(Self.clips[0])' '\(Self.clips[1])' > /dev/full")
        #expect(run.status == 1)
        #expect(
            run.stderr == """
                transcribe: stdout: No space left on device
                transcribe: stopped: 1 of 2 inputs were not transcribed (stdout: No space left on device)

                """)
    }

    /// With stdout closed, the transcripts must not land on stderr (or in any file opened later).
    @Test func aClosedStdoutIsAnError() throws {
        let run = try Run.shell("\"$TRANSCRIBE\" -q --model '\(Self.model)' '\(Self.clips[0])' >&-")
        #expect(run.status == 1)
        #expect(run.stderr == "transcribe: stdout: Bad file descriptor\n")
    }

    /// One file at a time: the failure, then the inputs left unstarted. With the default jobs
    /// (files side by side) each input in progress when the disk fills fails with its own line,
    /// and the inputs not yet started, if any, are counted in the last.
    @Test(
        .enabled(if: canMount, "needs root and unshare to mount a small file system"),
        arguments: [["--jobs", "1"], []])
    func aFullDiskIsOneLinePerFailureAndStopsTheRun(jobs: [String]) throws {
        try TestEnvironment.requireTool("unshare", package: "util-linux")
        try withTemporaryDirectory { directory in
            let out = directory.appendingPathComponent("out").path
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let inputs = Fixtures.clipNames.map { "'\(Fixtures.clip($0))'" }.joined(separator: " ")
            let run = try Run.shell(
                """
                unshare -m sh -c "mount -t tmpfs -o size=12k tmpfs '\(out)' && \\"\\$TRANSCRIBE\\" -q --model '\(Self.model)' \
                \(jobs.joined(separator: " ")) -f json -o '\(out)' \(inputs); status=\\$?; ls -A '\(out)'; \
                for f in '\(out)'/*.json; do \
                python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \\"\\$f\\" || echo BROKEN; done; exit \\$status"
                """)
            #expect(run.status == 1)
            let lines = run.stderr.split(separator: "\n")
            let failures = lines.filter {
                $0.contains(": cannot write \(out)/") && $0.hasSuffix(": No space left on device")
            }
            if jobs.isEmpty {
                let jobsAtOnce = ProcessInfo.processInfo.activeProcessorCount
                #expect(!failures.isEmpty && failures.count <= jobsAtOnce, "\(run.stderr)")
                #expect(lines.dropFirst(failures.count).allSatisfy { $0.hasPrefix("transcribe: stopped: ") })
                #expect(lines.count <= failures.count + 1, "\(run.stderr)")
            } else {
                #expect(lines.count == 2, "\(run.stderr)")
                #expect(failures.count == 1 && lines.first == failures.first)
                #expect(lines.last?.hasPrefix("transcribe: stopped: ") == true)
            }
            // What was written is whole; no temporary file is left.
            #expect(!run.stdout.contains("BROKEN"))
            #expect(!run.stdout.contains(".tmp"))
        }
    }

    @Test(.enabled(if: canMount, "needs root and unshare to mount a read-only file system"))
    func aReadOnlyFolderIsOnePlainLine() throws {
        try TestEnvironment.requireTool("unshare", package: "util-linux")
        try withTemporaryDirectory { directory in
            let out = directory.path
            let run = try Run.shell(
                "unshare -m sh -c \"mount -t tmpfs -o ro tmpfs '\(out)' && \\\"\\$TRANSCRIBE\\\" -q --model '\(Self.model)' -o '\(out)' '\(Self.clips[0])'\""
            )
            #expect(run.status == 1)
            #expect(
                run.stderr == "transcribe: \(Self.clips[0]): cannot write \(out)/short.txt: Read-only file system\n",
                "\(run.stderr)")
        }
    }

    @Test func aFolderWhereTheOutputShouldGoIsOnePlainLine() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent("short.txt"), withIntermediateDirectories: true)
            let run = try Run(["-q", "--model", Self.model, "-o", directory.path, Self.clips[0], Self.clips[1]])
            #expect(run.status == 1)
            #expect(
                run.stderr == "transcribe: \(Self.clips[0]): cannot write \(directory.path)/short.txt: Is a directory\n"
            )
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("numbers.txt").path))
        }
    }

    /// An audio file named clip.txt, written to its own folder as txt, would be replaced by its
    /// transcript; so would an input under another name (a hard link).
    @Test func anOutputNeverReplacesAnInput() throws {
        try withTemporaryDirectory { directory in
            let clip = directory.appendingPathComponent("clip.txt")
            try FileManager.default.copyItem(atPath: Self.clips[0], toPath: clip.path)
            let audio = try Data(contentsOf: clip)
            let run = try Run(["-q", "--model", Self.model, "-o", directory.path, clip.path])
            #expect(run.status == 1)
            #expect(
                run.stderr
                    == "transcribe: \(clip.path): cannot write \(clip.path): it is one of the inputs, which are never overwritten\n"
            )
            #expect(try Data(contentsOf: clip) == audio)

            let out = directory.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            #expect(link(clip.path, out.appendingPathComponent("clip.txt").path) == 0)
            let linked = try Run(["-q", "--model", Self.model, "-o", out.path, clip.path])
            #expect(linked.status == 1)
            #expect(try Data(contentsOf: clip) == audio)
        }
    }

    /// Only a whole, valid output counts as done: an empty file, one that does not parse and a
    /// folder are not.
    @Test func skipExistingSkipsOnlyWholeOutputs() throws {
        try withTemporaryDirectory { directory in
            let out = directory.path
            let first = try Run(["-q", "--model", Self.model, "-f", "json", "-o", out] + Self.clips)
            #expect(first.status == 0)
            let done = directory.appendingPathComponent("numbers.json")
            let whole = try Data(contentsOf: done)

            let cut = directory.appendingPathComponent("short.json")
            try Data(try Data(contentsOf: cut).prefix(20)).write(to: cut)
            let resumed = try Run(
                ["-q", "--model", Self.model, "-f", "json", "--skip-existing", "-o", out] + Self.clips)
            #expect(resumed.status == 0)
            #expect(try JSONSerialization.jsonObject(with: Data(contentsOf: cut)) is [String: Any])
            #expect(try Data(contentsOf: done) == whole)

            for format in OutputFormat.allCases where format != .srt {
                let empty = directory.appendingPathComponent("short.\(format.fileExtension)")
                try Data().write(to: empty)
                let run = try Run(
                    ["-q", "--model", Self.model, "-f", format.rawValue, "--skip-existing", "-o", out, Self.clips[0]])
                #expect(run.status == 0)
                #expect(try Data(contentsOf: empty).count > 0, "\(format)")
            }
        }
    }

    /// Temporary files of runs on other machines sharing the folder are theirs to remove: only
    /// one left untouched for a day is cleared, and this machine's whose process is gone.
    @Test func anotherMachinesTemporaryFilesAreLeftAlone() throws {
        try withTemporaryDirectory { directory in
            let fresh = ".short.txt.4194000@elsewhere@4026531836.0123abcd.tmp"
            let old = ".numbers.txt.4194001@elsewhere@4026531836.89abcdef.tmp"
            let legacy = ".question.txt.4194002.ABCDEF12.tmp"
            for name in [fresh, old, legacy] {
                try Data("partial".utf8).write(to: directory.appendingPathComponent(name))
            }
            var twoDaysAgo = [
                timeval(tv_sec: time(nil) - 2 * 86_400, tv_usec: 0),
                timeval(tv_sec: time(nil) - 2 * 86_400, tv_usec: 0),
            ]
            #expect(utimes(directory.appendingPathComponent(old).path, &twoDaysAgo) == 0)
            let run = try Run(["-q", "--model", Self.model, "-o", directory.path, Self.clips[0]])
            #expect(run.status == 0)
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            #expect(left == [fresh, "short.txt"].sorted())
        }
    }

    /// The README's shared-folder recipe: runs in separate PID namespaces (as on separate
    /// machines) writing into one folder at once; every output whole, none lost.
    @Test(.enabled(if: canMount, "needs root and unshare for PID namespaces"))
    func runsInSeparatePIDNamespacesShareAFolder() throws {
        try TestEnvironment.requireTool("unshare", package: "util-linux")
        let script = Fixtures.packageRoot.appendingPathComponent("scripts/qa/shared-folder.sh").path
        let run = try Run.shell("'\(script)' \"$TRANSCRIBE\" '\(Self.model)' '\(Self.clips[0])' 40")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "shared-folder: 40 of 40 outputs, 0 not whole, 0 temporary files left\n")
    }
}
