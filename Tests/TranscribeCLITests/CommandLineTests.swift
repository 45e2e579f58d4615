import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

@Suite struct CommandLineTests {
    static let model = Fixtures.models.appendingPathComponent("base-postnorm-f32").path

    func reference(_ clip: String) throws -> String {
        struct Entry: Decodable { let transcript_ctc: String }
        let url = URL(fileURLWithPath: Self.model).appendingPathComponent("reference/transcripts.json")
        return try #require(try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: url))[clip])
            .transcript_ctc
    }

    /// --version names the BLAS and the kernels it runs, which set the speed: OpenBLAS's own
    /// choice for this CPU, or the one OPENBLAS_CORETYPE forces.
    @Test func versionNamesTheKernels() throws {
        let forced = try Run(["--version"], environment: ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(forced.status == 0)
        #expect(forced.stdout.hasPrefix("0.1.0 (matrix products: OpenBLAS "), "\(forced.stdout)")
        #expect(forced.stdout.hasSuffix(", Haswell kernels)\n"), "\(forced.stdout)")
    }

    @Test func printsTheTranscript() throws {
        let clip = try #require(Fixtures.clipNames.first)
        let run = try Run(["--model", Self.model, Fixtures.clip(clip)])
        #expect(run.status == 0)
        #expect(run.stdout == (try reference(clip)) + "\n")
        #expect(run.stderr == "")
    }

    @Test func takesTheModelFromTheEnvironment() throws {
        let clip = try #require(Fixtures.clipNames.first)
        let run = try Run([Fixtures.clip(clip)], environment: ["TRANSCRIBE_MODEL": Self.model])
        #expect(run.status == 0)
        #expect(run.stdout == (try reference(clip)) + "\n")
    }

    @Test func keepsInputOrderAndGoesOnPastABrokenFile() throws {
        let clips = Array(Fixtures.clipNames.prefix(2))
        try #require(clips.count == 2)
        let missing = "/nonexistent/missing.wav"
        let run = try Run(["--model", Self.model, Fixtures.clip(clips[0]), missing, Fixtures.clip(clips[1])])
        #expect(run.status == 1)
        // Several inputs: each txt line says which input it is.
        #expect(run.stdout == (try clips.map { Fixtures.clip($0) + "\t" + (try reference($0)) + "\n" }.joined()))
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("transcribe: \(missing): ") == true)
    }

    @Test func writesEmissionsThatMatchTheReference() throws {
        let clip = try #require(Fixtures.clipNames.first)
        try withTemporaryDirectory { directory in
            let run = try Run(["--model", Self.model, "--emissions", directory.path + "/out", Fixtures.clip(clip)])
            #expect(run.status == 0)
            let written = try #require(
                Npy.decode(Data(contentsOf: directory.appendingPathComponent("out/\(clip).npy"))))
            let expected = try #require(
                Npy.decode(
                    Data(
                        contentsOf: URL(fileURLWithPath: Self.model)
                            .appendingPathComponent("reference/\(clip).logprobs.npy"))))
            #expect(written.rows == expected.rows && written.cols == expected.cols)
            let difference = zip(written.data, expected.data).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference < 1e-3)
        }
    }

    @Test func exitsWith3WhenTheModelCannotBeLoaded() throws {
        let run = try Run(["--model", "/nonexistent/model", "a.wav"])
        #expect(run.status == 3)
        #expect(run.stdout == "")
        #expect(run.stderr == "transcribe: /nonexistent/model: missing\n")
    }

    /// A copy of the binary outside the checkout, run in `directory`: it finds only the models
    /// there (`./Models`) and under `$XDG_DATA_HOME`.
    /// "Installs" a default model into `home/Models`: a link to a tiny fixture of its family.
    static func install(_ name: String, in home: URL) throws {
        let models = home.appendingPathComponent("Models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        let fixture =
            name.hasPrefix("whisper")
            ? Fixtures.whisperModel("tiny-en") : Fixtures.models.appendingPathComponent("base-postnorm-f32")
        try FileManager.default.createSymbolicLink(at: models.appendingPathComponent(name), withDestinationURL: fixture)
    }

    static func installedCopy(in directory: URL, _ arguments: String) throws -> Run {
        try Run.shell(
            "cp \"$TRANSCRIBE\" \"$DIR/transcribe\" && cd \"$DIR\" && ./transcribe \(arguments)",
            environment: ["DIR": directory.path, "XDG_DATA_HOME": directory.path])
    }

    /// --model takes the name of an installed model as well as a directory, and --list-models
    /// shows what is installed and where.
    @Test func installedModelsByName() throws {
        try withTemporaryDirectory { home in
            try Self.install("whisper-tiny.en", in: home)
            try Self.install("wav2vec2-base-960h", in: home)
            let clip = Fixtures.speech.appendingPathComponent("hello_world.wav").path
            let byDirectory = try Self.installedCopy(in: home, "-q --model ./Models/whisper-tiny.en '\(clip)'")
            for name in ["tiny.en", "whisper-tiny.en"] {
                let byName = try Self.installedCopy(in: home, "-q --model \(name) '\(clip)'")
                #expect(byName.status == 0, "\(byName.stderr)")
                #expect(byName.stdout == byDirectory.stdout)
            }
            let unknown = try Self.installedCopy(in: home, "-q --model large-v9 '\(clip)'")
            #expect(unknown.status == 3)
            #expect(unknown.stderr.contains("Models/whisper-large-v9"))

            let list = try Self.installedCopy(in: home, "--list-models")
            #expect(list.status == 0)
            let rows = list.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
            #expect(
                rows.map { $0.prefix(2) } == [["wav2vec2-base-960h", "wav2vec2"], ["whisper-tiny.en", "whisper"]])
            #expect(rows.allSatisfy { $0.count == 3 && $0[2].hasSuffix("/Models/" + $0[0]) })
            #expect(
                list.stderr.contains("without --model") && list.stderr.contains("Models/wav2vec2-base-960h is taken"))
        }
    }

    @Test func saysWhereItLookedWhenNoModelIsFound() throws {
        try withTemporaryDirectory { home in
            let run = try Self.installedCopy(in: home, "a.wav")
            #expect(run.status == 3)
            #expect(run.stderr.contains(home.path + "/transcribe/models/wav2vec2-base-960h"))
            #expect(run.stderr.contains(home.path + "/transcribe/models/whisper-tiny.en"))
            #expect(run.stderr.contains("scripts/setup.sh"))
        }
    }

    @Test func takesTheFirstInstalledModelAndNamesIt() throws {
        try withTemporaryDirectory { home in
            try Self.install("whisper-tiny.en", in: home)
            let clip = Fixtures.speech.appendingPathComponent("hello_world.wav").path
            let whisperOnly = try Self.installedCopy(in: home, "'\(clip)'")
            #expect(whisperOnly.status == 0)
            #expect(
                whisperOnly.stderr.hasPrefix("transcribe: model ./Models/whisper-tiny.en (whisper)\n")
                    || whisperOnly.stderr.contains("Models/whisper-tiny.en (whisper)"))

            try Self.install("wav2vec2-base-960h", in: home)
            let both = try Self.installedCopy(in: home, "'\(clip)'")
            #expect(both.status == 0)
            #expect(both.stderr.contains("Models/wav2vec2-base-960h (wav2vec2)"))
            #expect(both.stdout == (try reference("hello_world")) + "\n")

            let quiet = try Self.installedCopy(in: home, "-q '\(clip)'")
            #expect(quiet.stderr == "")
        }
    }

    @Test(arguments: [[], ["--threads", "0", "a.wav"], ["--no-such-flag", "a.wav"]])
    func exitsWith2OnUsageErrors(_ arguments: [String]) throws {
        let run = try Run(arguments)
        #expect(run.status == 2)
        #expect(run.stdout == "")
        #expect(!run.stderr.isEmpty)
    }

    /// `transcribe` alone prints the whole help on stderr (a usage error: status 2, nothing on
    /// stdout); an invocation with options but no input names what is missing in one line.
    @Test func withNoArgumentsPrintsTheHelp() throws {
        let bare = try Run([])
        #expect(bare.status == 2)
        #expect(bare.stdout == "")
        #expect(bare.stderr == (try Run(["--help"])).stdout)

        let noInput = try Run(["--quiet"])
        #expect(noInput.status == 2)
        #expect(
            noInput.stderr.hasPrefix(
                "Error: no input: name audio files, '-' for standard input, or --files-from PATH\n"))
    }

    /// The options come in sections, each option in the one it belongs to.
    @Test func helpGroupsTheOptions() throws {
        let help = try Run(["--help"]).stdout
        let sections = ["INPUT:", "OUTPUT:", "MODEL:", "WHISPER DECODING:", "PERFORMANCE:", "OPTIONS:"]
        let offsets = sections.map { help.range(of: "\n\($0)\n")?.lowerBound }
        #expect(offsets.allSatisfy { $0 != nil }, "\(help)")
        let starts = offsets.compactMap { $0 }
        #expect(starts == starts.sorted())
        func section(of option: String) -> String? {
            guard let at = help.range(of: "  \(option) ")?.lowerBound else { return nil }
            return zip(sections, starts).filter { $0.1 < at }.last?.0
        }
        #expect(section(of: "--files-from") == "INPUT:")
        #expect(section(of: "--emissions") == "OUTPUT:")
        #expect(section(of: "--model") == "MODEL:")
        #expect(section(of: "--beam-size") == "WHISPER DECODING:")
        #expect(section(of: "--threads") == "PERFORMANCE:")
    }

    @Test func helpShowsExamplesAndExitStatus() throws {
        let run = try Run(["--help"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("Examples:") && run.stdout.contains("Exit status:"))
    }
}
