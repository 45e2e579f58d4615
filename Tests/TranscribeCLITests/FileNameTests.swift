import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// File names are bytes: names that are not UTF-8, that differ only in Unicode normalisation,
/// that hold a newline or a tab, that are long, or that come from a list written on Windows.
@Suite struct FileNameTests {
    static let model = Fixtures.models.appendingPathComponent("large-prenorm-f16").path
    static let clip = Fixtures.clip("short")

    /// The transcript of the clip, as the binary prints it for one input.
    static func transcript() throws -> String {
        let run = try Run(["-q", "--model", model, clip])
        return String(run.stdout.dropLast())
    }

    /// Copies the clip to `directory/<name bytes>` and returns the path's bytes.
    static func copyClip(named name: [UInt8], in directory: URL) throws -> [UInt8] {
        let path = Array(directory.path.utf8) + [UInt8(ascii: "/")] + name
        let data = try Data(contentsOf: URL(fileURLWithPath: clip))
        let descriptor = (path + [0]).withUnsafeBufferPointer {
            $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        }
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        #expect(data.withUnsafeBytes { writeAll(descriptor, $0) } == 0)
        return path
    }

    /// Runs the binary from `directory` with arguments given as bytes (through printf, so any byte
    /// but NUL can be passed).
    static func run(in directory: URL, _ arguments: [[UInt8]]) throws -> Run {
        let quoted = arguments.map { bytes in
            "\"$(printf '" + bytes.map { String(format: "\\%03o", $0) }.joined() + "')\""
        }
        return try Run.shell("cd '\(directory.path)' && \"$TRANSCRIBE\" " + quoted.joined(separator: " "))
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func aNameThatIsNotUTF8IsReadAndItsOutputNamedByItsBytes() throws {
        let text = try Self.transcript()
        try withTemporaryDirectory { directory in
            let name: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".wav".utf8)
            _ = try Self.copyClip(named: name, in: directory)
            let run = try Self.run(
                in: directory, [Self.bytes("-q"), Self.bytes("--model"), Self.bytes(Self.model), name, name])
            // Two inputs: each line names its input, the byte that is not UTF-8 escaped.
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "caf\\xe9.wav\t\(text)\ncaf\\xe9.wav\t\(text)\n")

            let written = try Self.run(
                in: directory,
                [
                    Self.bytes("-q"), Self.bytes("--model"), Self.bytes(Self.model), Self.bytes("-o"),
                    Self.bytes("out"), name,
                ])
            #expect(written.status == 0, "\(written.stderr)")
            let output = Array(directory.path.utf8) + Array("/out/caf".utf8) + [0xE9] + Array(".txt".utf8) + [0]
            var status = stat()
            #expect(
                output.withUnsafeBufferPointer {
                    $0.withMemoryRebound(to: CChar.self) { stat($0.baseAddress!, &status) }
                } == 0)
        }
    }

    /// é precomposed and decomposed are equal as Swift strings but are two files.
    @Test func namesThatDifferOnlyInNormalisationAreTwoFiles() throws {
        try withTemporaryDirectory { directory in
            let composed = Array("caf\u{E9}.wav".utf8)
            let decomposed = Array("cafe\u{301}.wav".utf8)
            for name in [composed, decomposed] { _ = try Self.copyClip(named: name, in: directory) }
            let run = try Self.run(
                in: directory,
                [
                    Self.bytes("-q"), Self.bytes("--model"), Self.bytes(Self.model), Self.bytes("-o"),
                    Self.bytes("out"), composed, decomposed,
                ])
            #expect(run.status == 0, "\(run.stderr)")
            let written = try FileManager.default.contentsOfDirectory(
                atPath: directory.appendingPathComponent("out").path)
            #expect(written.count == 2)
        }
    }

    /// A newline or tab in a name never breaks a line of txt, tsv or stderr.
    @Test func controlCharactersInNamesAreEscapedInEveryLine() throws {
        let text = try Self.transcript()
        try withTemporaryDirectory { directory in
            let name = Array("two\nlines\tand tab.wav".utf8)
            _ = try Self.copyClip(named: name, in: directory)
            let missing = Array("gone\n.wav".utf8)
            let base = [Self.bytes("-q"), Self.bytes("--model"), Self.bytes(Self.model)]
            let txt = try Self.run(in: directory, base + [name, missing])
            #expect(txt.status == 1)
            #expect(txt.stdout == "two\\nlines\\tand tab.wav\t\(text)\n")
            #expect(txt.stderr == "transcribe: gone\\n.wav: cannot open: no such file\n")

            let tsv = try Self.run(in: directory, base + [Self.bytes("-f"), Self.bytes("tsv"), name, name])
            #expect(tsv.status == 0)
            let rows = tsv.stdout.split(separator: "\n").dropFirst()
            #expect(
                !rows.isEmpty
                    && rows.allSatisfy {
                        $0.hasPrefix("two\\nlines\\tand tab.wav\t") && $0.split(separator: "\t").count == 5
                    })

            let jsonl = try Self.run(in: directory, base + [Self.bytes("-f"), Self.bytes("jsonl"), name])
            let record = try #require(try JSONSerialization.jsonObject(with: Data(jsonl.stdout.utf8)) as? [String: Any])
            #expect(record["input"] as? String == "two\nlines\tand tab.wav")
        }
    }

    /// A name as long as the file system takes still gets its output through a temporary file
    /// (whose name must fit too), and a path longer than libsndfile's 1024 bytes is read.
    @Test func longNamesAndPaths() throws {
        let text = try Self.transcript()
        try withTemporaryDirectory { directory in
            let stem = String(repeating: "a", count: 250)
            _ = try Self.copyClip(named: Array("\(stem).wav".utf8), in: directory)
            let run = try Run([
                "-q", "--model", Self.model, "-o", directory.appendingPathComponent("out").path,
                directory.appendingPathComponent("\(stem).wav").path,
            ])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(
                try String(contentsOf: directory.appendingPathComponent("out/\(stem).txt"), encoding: .utf8) == text
                    + "\n")

            var deep = directory
            for _ in 0..<6 { deep.appendPathComponent(String(repeating: "d", count: 200)) }
            try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
            let path = deep.appendingPathComponent("x.wav").path
            #expect(path.utf8.count > 1024)
            // (Foundation's copyItem puts such a path elsewhere.)
            _ = try Self.copyClip(named: Array("x.wav".utf8), in: deep)
            let long = try Run(["-q", "--model", Self.model, path])
            #expect(long.status == 0, "\(long.stderr)")
            #expect(long.stdout == text + "\n")
        }
    }

    /// --files-from takes lists with CRLF line ends; a line with a NUL byte fails alone.
    @Test func fileListsWithCRLFAndNUL() throws {
        let text = try Self.transcript()
        try withTemporaryDirectory { directory in
            let list = directory.appendingPathComponent("list.txt")
            try Data("\(Self.clip)\r\n\(Self.clip)\r\n".utf8).write(to: list)
            let crlf = try Run(["-q", "--model", Self.model, "--files-from", list.path])
            #expect(crlf.status == 0, "\(crlf.stderr)")
            #expect(crlf.stdout == "\(Self.clip)\t\(text)\n\(Self.clip)\t\(text)\n")

            try Data("\(Self.clip)\nbad\0name.wav\n\(Self.clip)\n".utf8).write(to: list)
            let nul = try Run(["-q", "--model", Self.model, "--files-from", list.path])
            #expect(nul.status == 1)
            #expect(nul.stdout == "\(Self.clip)\t\(text)\n\(Self.clip)\t\(text)\n")
            #expect(
                nul.stderr
                    == "transcribe: bad\\x00name.wav: line 2 of \(list.path) holds a NUL byte, which no file name can\n"
            )
        }
    }
}
