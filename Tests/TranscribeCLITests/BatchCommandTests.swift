import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// The binary over several inputs, in every output format, as scripts and pipelines use it.
@Suite struct BatchCommandTests {
    static let model = Fixtures.models.appendingPathComponent("large-prenorm-f16").path
    static var clips: [String] { Fixtures.clipNames.map(Fixtures.clip) }

    /// The transcript of each clip, one input at a time.
    static let transcripts: [String: String] = {
        var result: [String: String] = [:]
        for clip in clips {
            result[clip] = (try? Run(["--model", model, clip]))?.stdout.trimmingCharacters(in: .newlines)
        }
        return result
    }()

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func readsAudioFromStandardInput() throws {
        let clip = try #require(Self.clips.first)
        let run = try Run(["--model", Self.model, "-"], stdin: try Data(contentsOf: URL(fileURLWithPath: clip)))
        #expect(run.status == 0)
        #expect(run.stdout == Self.transcripts[clip]! + "\n")
    }

    @Test func readsPathsFromAFileOrStandardInput() throws {
        let list = Self.clips.joined(separator: "\n") + "\n"
        let fromStdin = try Run(["--model", Self.model, "--files-from", "-"], stdin: Data(list.utf8))
        #expect(fromStdin.status == 0)
        #expect(fromStdin.stdout == Self.clips.map { "\($0)\t\(Self.transcripts[$0]!)\n" }.joined())
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("list.txt")
            try Data(list.utf8).write(to: file)
            #expect(try Run(["--model", Self.model, "--files-from", file.path]).stdout == fromStdin.stdout)
        }
    }

    /// Any number of jobs, the default (one per thread) included, and threads shared between
    /// them (a job left alone takes the others' threads), print the same lines in input order.
    @Test func jobsKeepInputOrder() throws {
        let inputs = Self.clips + Self.clips
        let one = try Run(["--model", Self.model, "--jobs", "1"] + inputs)
        #expect(one.status == 0)
        #expect(one.stdout.split(separator: "\n").count == inputs.count)
        for options in [
            ["--jobs", "3"], [], ["--threads", "3"], ["--threads", "3", "--jobs", "2"], ["--threads", "1"],
        ] {
            let run = try Run(["--model", Self.model] + options + inputs)
            #expect(run.status == 0, "\(options)")
            #expect(run.stdout == one.stdout, "\(options)")
        }
    }

    /// JSON parses, has every key, and its words are ordered, inside the audio, and spell the text.
    @Test func jsonDocumentsDescribeTheAudio() throws {
        let run = try Run(["--model", Self.model, "--format", "json", "--characters"] + Self.clips)
        #expect(run.status == 0)
        let documents = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(documents.count == Self.clips.count)
        for (clip, document) in zip(Self.clips, documents) {
            #expect(document["input"] as? String == clip)
            #expect(document["model"] as? String == "large-prenorm-f16")
            #expect(document["text"] as? String == Self.transcripts[clip])
            let duration = try #require(document["duration"] as? Double)
            let words = try #require(document["words"] as? [[String: Any]])
            #expect(words.map { $0["word"] as? String ?? "" }.joined(separator: " ") == Self.transcripts[clip])
            var previousEnd = 0.0
            for word in words {
                let (start, end) = (word["start"] as? Double ?? -1, word["end"] as? Double ?? -1)
                #expect(start >= previousEnd && end >= start && end <= duration + 0.001)
                #expect((0...1).contains(word["confidence"] as? Double ?? -1))
                #expect((word["characters"] as? [Any])?.isEmpty == false)
                previousEnd = end
            }
            #expect(document["segments"] is [[String: Any]])
        }
    }

    @Test func jsonlHasOneRecordPerInputFailuresIncluded() throws {
        let missing = "/nonexistent/gone.flac"
        let run = try Run(["--model", Self.model, "--format", "jsonl", Self.clips[0], missing, Self.clips[1]])
        #expect(run.status == 1)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(try json(lines[0])["text"] as? String == Self.transcripts[Self.clips[0]])
        let failure = try json(lines[1])
        #expect(failure["input"] as? String == missing && (failure["error"] as? String)?.isEmpty == false)
        #expect(try json(lines[2])["input"] as? String == Self.clips[1])
        #expect(run.stderr == "transcribe: \(missing): cannot open: no such file\n")
    }

    /// jsonl takes --characters as json does: the same record on one line.
    @Test func jsonlTakesCharactersAsJsonDoes() throws {
        let json = try Run(["--model", Self.model, "--format", "json", "--characters", Self.clips[0]])
        let jsonl = try Run(["--model", Self.model, "--format", "jsonl", "--characters", Self.clips[0]])
        #expect(jsonl.status == 0)
        let a = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? NSDictionary)
        let b = try #require(try JSONSerialization.jsonObject(with: Data(jsonl.stdout.utf8)) as? NSDictionary)
        #expect(a == b)
        #expect(jsonl.stdout.split(separator: "\n").count == 1)
    }

    /// SubRip and WebVTT: cues numbered, times well formed, ordered, inside the audio; and the
    /// Python parsers `srt` and `webvtt-py` (installed by .ci/run) read them back.
    @Test(arguments: ["srt", "vtt"])
    func subtitlesAreWellFormed(_ format: String) throws {
        let clip = Fixtures.clip("quick_brown_fox")
        let run = try Run(["--model", Self.model, "--format", format, clip])
        #expect(run.status == 0)
        let separator = format == "srt" ? "," : "."
        let time = try Regex(
            "^(\\d\\d):(\\d\\d):(\\d\\d)\\\(separator)(\\d\\d\\d) --> (\\d\\d):(\\d\\d):(\\d\\d)\\\(separator)(\\d\\d\\d)$"
        )
        var previousEnd = 0.0
        var cues = 0
        for line in run.stdout.split(separator: "\n") where line.contains("-->") {
            let match = try #require(line.wholeMatch(of: time), "\(line)")
            let numbers = (1...8).map { Double(match.output[$0].substring ?? "") ?? -1 }
            let start = numbers[0] * 3600 + numbers[1] * 60 + numbers[2] + numbers[3] / 1000
            let end = numbers[4] * 3600 + numbers[5] * 60 + numbers[6] + numbers[7] / 1000
            #expect(start >= previousEnd && end > start && end <= 2.8)
            previousEnd = end
            cues += 1
        }
        #expect(cues > 0)
        if format == "vtt" { #expect(run.stdout.hasPrefix("WEBVTT\n\n")) }
        if format == "srt" { #expect(run.stdout.hasPrefix("1\n")) }

        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("cues.\(format)")
            try Data(run.stdout.utf8).write(to: file)
            #expect(try cueTexts(ofSubtitleFile: file.path, format: format).count == cues)
        }
    }

    @Test func tsvHasOneRowPerWord() throws {
        let clip = Fixtures.clip("numbers")
        let run = try Run(["--model", Self.model, "--format", "tsv", clip])
        let rows = run.stdout.split(separator: "\n")
        #expect(rows.first == "start\tend\tconfidence\tword")
        #expect(
            rows.dropFirst().map { $0.split(separator: "\t").last.map(String.init) ?? "" }.joined(separator: " ")
                == Self.transcripts[clip])
        #expect(rows.dropFirst().allSatisfy { $0.split(separator: "\t").count == 4 })
    }

    @Test(arguments: [("upper", "uppercased"), ("lower", "lowercased")])
    func changesLetterCase(_ mode: String, _ expected: String) throws {
        let clip = Self.clips[0]
        let run = try Run(["--model", Self.model, "--case", mode, clip])
        let original = Self.transcripts[clip]!
        #expect(run.stdout == (expected == "uppercased" ? original.uppercased() : original.lowercased()) + "\n")
    }

    /// --output-dir writes <stem>.<format> per input and nothing on stdout; --skip-existing then
    /// redoes only what is missing (an interrupted run resumes).
    @Test func outputDirectoryResumesWithSkipExisting() throws {
        try withTemporaryDirectory { directory in
            let out = directory.appendingPathComponent("out").path
            let first = try Run(["--model", Self.model, "--output-dir", out, "--format", "vtt"] + Self.clips)
            #expect(first.status == 0 && first.stdout == "")
            let outputs = Fixtures.clipNames.map { "\(out)/\($0).vtt" }
            #expect(outputs.allSatisfy { FileManager.default.fileExists(atPath: $0) })
            // No temporary files are left.
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).count == outputs.count)

            // Mark the survivors (still whole WebVTT documents), remove one output, resume.
            let kept = "WEBVTT\n\nkept\n"
            for path in outputs { try Data(kept.utf8).write(to: URL(fileURLWithPath: path)) }
            try FileManager.default.removeItem(atPath: outputs[1])
            let resumed = try Run(
                ["--model", Self.model, "--output-dir", out, "--format", "vtt", "--skip-existing"] + Self.clips)
            #expect(resumed.status == 0)
            for (index, path) in outputs.enumerated() {
                let content = try String(contentsOfFile: path, encoding: .utf8)
                #expect(index == 1 ? content.hasPrefix("WEBVTT") && content != kept : content == kept)
            }
        }
    }

    /// `-o talk.srt` with one input writes that file (what stdout would get), never a folder of
    /// that name; with several inputs, or another format's extension, it is refused in one line.
    @Test func outputNamedLikeAFileIsThatFile() throws {
        let (clip, other) = (Self.clips[0], Self.clips[1])
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("sub/talk.srt").path
            let run = try Run(["--model", Self.model, "-f", "srt", "-o", file, clip])
            #expect(run.status == 0 && run.stdout.isEmpty, "\(run.stderr)")
            var isFolder: ObjCBool = true
            #expect(FileManager.default.fileExists(atPath: file, isDirectory: &isFolder) && !isFolder.boolValue)
            let stdout = try Run(["--model", Self.model, "-f", "srt", clip]).stdout
            #expect(try String(contentsOfFile: file, encoding: .utf8) == stdout)

            let refusals: [([String], String)] = [
                (
                    ["-f", "srt", "-o", directory.appendingPathComponent("two.srt").path, clip, other],
                    "there are 2 inputs"
                ),
                (["-f", "json", "-o", directory.appendingPathComponent("talk.vtt").path, clip], "give -f vtt"),
            ]
            for (arguments, message) in refusals {
                let refused = try Run(["--model", Self.model] + arguments)
                #expect(refused.status == 2 && refused.stderr.contains(message), "\(refused.stderr)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["sub"])

            // A folder that exists, or a name ending in '/', stays a folder.
            let folder = directory.path + "/folder.srt/"
            let intoFolder = try Run(["--model", Self.model, "-f", "srt", "-o", folder, clip])
            #expect(intoFolder.status == 0)
            #expect(
                FileManager.default.fileExists(
                    atPath: folder + URL(fileURLWithPath: clip).deletingPathExtension().lastPathComponent + ".srt"))
        }
    }

    @Test func shardsCoverTheListExactlyOnce() throws {
        let inputs = Self.clips + Self.clips.map { $0 + ".missing.wav" }
        var seen: [String] = []
        for shard in 0..<3 {
            let run = try Run(["--model", Self.model, "--format", "jsonl", "--shard", "\(shard)/3"] + inputs)
            for line in run.stdout.split(separator: "\n") {
                seen.append(try json(String(line))["input"] as? String ?? "")
            }
        }
        #expect(seen.sorted() == inputs.sorted())
    }

    /// GNU parallel splitting one file list over four shard processes, as on a cluster.
    @Test(
        .enabled(
            if: TestEnvironment.runs(needing: TestEnvironment.hasTool("parallel")), "GNU parallel is not installed"))
    func gnuParallelDoesACorpusInShards() throws {
        try TestEnvironment.requireTool("parallel", package: "parallel")
        try withTemporaryDirectory { directory in
            let list = directory.appendingPathComponent("list.txt").path
            try Data(Self.clips.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: list))
            let out = directory.appendingPathComponent("out").path
            let run = try Run.shell(
                "parallel --will-cite -j 2 \"$TRANSCRIBE\" --model '\(Self.model)' --quiet --shard {}/4 "
                    + "--files-from '\(list)' --output-dir '\(out)' --format json ::: 0 1 2 3")
            #expect(run.status == 0, "\(run.stderr)")
            let written = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
            #expect(written == Fixtures.clipNames.map { "\($0).json" }.sorted())
            for name in Fixtures.clipNames {
                let document = try json(String(contentsOfFile: "\(out)/\(name).json", encoding: .utf8))
                #expect(document["text"] as? String == Self.transcripts[Fixtures.clip(name)])
            }
        }
    }

    /// Ctrl-C mid-batch: a quiet exit with status 130, finished outputs complete, no temporary or
    /// half-written file; a rerun with --skip-existing then completes the batch.
    @Test func anInterruptedRunLeavesNoPartialFileAndResumes() throws {
        try withTemporaryDirectory { directory in
            let out = directory.appendingPathComponent("out").path
            // Many distinct names for the same clips, so the run is still going when interrupted.
            var inputs: [String] = []
            for index in 0..<60 {
                let clip = Self.clips[index % Self.clips.count]
                let link = directory.appendingPathComponent("clip\(index).wav").path
                try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: clip)
                inputs.append(link)
            }
            let arguments = ["--model", Self.model, "--output-dir", out, "--format", "json", "--threads", "1"]
            let process = Process()
            process.executableURL = Run.executable
            process.arguments = arguments + inputs
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            // Interrupt once some outputs exist.
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline && ((try? FileManager.default.contentsOfDirectory(atPath: out))?.count ?? 0) < 3 {
                Thread.sleep(forTimeInterval: 0.02)
            }
            process.interrupt()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 130)
            #expect(stderr == "")
            let written = try FileManager.default.contentsOfDirectory(atPath: out)
            #expect(written.count < inputs.count, "the run finished before the interrupt")
            #expect(written.allSatisfy { $0.hasSuffix(".json") && !$0.hasPrefix(".") })
            for name in written {
                _ = try json(String(contentsOfFile: "\(out)/\(name)", encoding: .utf8))  // complete documents
            }

            let resumed = try Run(arguments + ["--skip-existing"] + inputs)
            #expect(resumed.status == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).count == inputs.count)
        }
    }

    /// On a terminal (here the pseudo-terminal of `script`) stderr shows progress; --quiet and a
    /// non-terminal stderr (every other test) show none.
    @Test(.enabled(if: TestEnvironment.runs(needing: TestEnvironment.hasTool("script")), "script(1) is not installed"))
    func showsProgressOnATerminalOnly() throws {
        try TestEnvironment.requireTool("script", package: "bsdutils")
        try withTemporaryDirectory { directory in
            let inputs = Self.clips.map { "'\($0)'" }.joined(separator: " ")
            let command = "\"$TRANSCRIBE\" --model '\(Self.model)' --output-dir '\(directory.path)/out' \(inputs)"
            let terminal = try Run.shell("script -qec \"\(command)\" /dev/null")
            #expect(terminal.status == 0)
            #expect(
                terminal.stdout.contains("\(Self.clips.count)/\(Self.clips.count) files")
                    && terminal.stdout.contains("real time"))
            let quiet = try Run.shell("script -qec \"\(command) --quiet\" /dev/null")
            #expect(!quiet.stdout.contains("files"))

            // A missing input and one whose output exists are counted as they finish.
            let missing = "'\(directory.path)/missing.wav'"
            let counted = try Run.shell("script -qec \"\(command) \(missing) --skip-existing\" /dev/null")
            let total = Self.clips.count + 1
            #expect(counted.stdout.contains("\(total)/\(total) files (1 failed, \(Self.clips.count) skipped)"))
        }
    }

    /// With results on the same terminal, the progress line is taken off before each result, so
    /// the screen never shows progress and a result on one line; into a pipe, stdout holds no
    /// progress.
    @Test(.enabled(if: TestEnvironment.runs(needing: TestEnvironment.hasTool("script")), "script(1) is not installed"))
    func progressNeverSharesALineWithResults() throws {
        try TestEnvironment.requireTool("script", package: "bsdutils")
        let inputs = Self.clips.map { "'\($0)'" }.joined(separator: " ")
        let terminal = try Run.shell("script -qec \"\\\"$TRANSCRIBE\\\" --model '\(Self.model)' \(inputs)\" /dev/null")
        #expect(terminal.status == 0)
        // What stays on screen of each line: the text after the last carriage return or erase.
        // script(1) ends each line with \r\n (one Character in Swift, so taken apart as text).
        let screen = terminal.stdout.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n").map {
            ($0.components(separatedBy: "\r").last ?? "").replacingOccurrences(of: "\u{1B}[K", with: "")
        }
        let results = screen.filter { $0.contains("\t") }
        #expect(results.count == Self.clips.count)
        #expect(results.allSatisfy { !$0.contains(" files, ") }, "\(screen)")
        #expect(screen.last(where: { !$0.isEmpty })?.hasPrefix("\(Self.clips.count)/\(Self.clips.count) files") == true)
        let piped = try Run(["--model", Self.model] + Self.clips)
        #expect(!piped.stdout.contains(" files, ") && !piped.stdout.contains("\u{1B}"))
    }

    /// SIGKILL at random points of a batch: every output present is complete, and the next run
    /// removes the dead process's temporary files and finishes the batch.
    @Test func killedOutrightNoOutputIsPartial() throws {
        try withTemporaryDirectory { directory in
            let out = directory.appendingPathComponent("out").path
            var inputs: [String] = []
            for index in 0..<40 {
                let link = directory.appendingPathComponent("clip\(index).wav").path
                try FileManager.default.createSymbolicLink(
                    atPath: link, withDestinationPath: Self.clips[index % Self.clips.count])
                inputs.append(link)
            }
            let arguments = [
                "--model", Self.model, "--output-dir", out, "--format", "json", "--threads", "1", "--skip-existing",
            ]
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<3 {
                let process = Process()
                process.executableURL = Run.executable
                process.arguments = arguments + inputs
                process.standardError = FileHandle.nullDevice
                try process.run()
                Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.4, using: &generator))
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                for name in (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [] where !name.hasPrefix(".")
                {
                    _ = try json(String(contentsOfFile: "\(out)/\(name)", encoding: .utf8))  // complete, or absent
                }
            }
            let finish = try Run(arguments + inputs)
            #expect(finish.status == 0)
            let names = try FileManager.default.contentsOfDirectory(atPath: out)
            #expect(names.count == inputs.count)
            #expect(names.allSatisfy { !$0.hasPrefix(".") })
        }
    }

    @Test func aClosedPipeEndsTheRunQuietly() throws {
        let inputs = (Self.clips + Self.clips + Self.clips).map { "'\($0)'" }.joined(separator: " ")
        let run = try Run.shell("\"$TRANSCRIBE\" --model '\(Self.model)' \(inputs) | head -n 1")
        #expect(run.status == 0)
        #expect(run.stdout.split(separator: "\n").count == 1)
        #expect(run.stderr == "")
    }

    @Test(arguments: [
        ["--skip-existing", "a.wav"],
        ["--shard", "4/4", "a.wav"],
        ["--shard", "x", "a.wav"],
        ["--jobs", "0", "a.wav"],
        ["--format", "srt", "a.wav", "b.wav"],
        ["--format", "docx", "a.wav"],
        ["--characters", "a.wav"],
        ["--output-dir", "/tmp/x", "a/s.wav", "b/s.flac"],
        ["-", "-"],
    ])
    func refusesUsageErrors(_ arguments: [String]) throws {
        let run = try Run(["--model", Self.model] + arguments)
        #expect(run.status == 2)
        #expect(run.stdout == "")
        #expect(!run.stderr.isEmpty)
    }

    @Test func helpShowsAnExampleOfEachUse() throws {
        let help = try Run(["--help"]).stdout
        for use in [
            "--format srt", "transcribe -", "--files-from -", "--jobs", "--shard 0/4", "parallel", "--skip-existing",
            "--emissions",
        ] {
            #expect(help.contains(use), "\(use)")
        }
    }
}
