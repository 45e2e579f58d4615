import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Audio that libsndfile alone reads short or misjudges, through the binary, from a file and
/// from standard input: chained Ogg streams are read to the last one, an MP3 without a Xing
/// header is read to its last frame and called truncated only when it is, and a WAV whose
/// header was never finished gives all of its audio with one warning.
@Suite struct DamagedAudioTests {
    static let model = Fixtures.models.appendingPathComponent("large-prenorm-f16").path

    /// The JSON document of one input.
    func document(_ run: Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    func duration(_ run: Run) throws -> Double { try #require(try document(run)["duration"] as? Double) }

    /// The binary over `path` as a file and the same bytes through a pipe on standard input.
    func fileAndPipe(_ path: String, format: String = "json") throws -> [Run] {
        [
            try Run(["--model", Self.model, "--format", format, path]),
            try Run.shell("cat '\(path)' | \"$TRANSCRIBE\" --model '\(Self.model)' --format \(format) -"),
        ]
    }

    // MARK: Chained Ogg

    /// `cat a.ogg b.ogg`: the transcript and duration are those of both streams' audio one after
    /// the other (sox decodes the chain into one float WAV), not of the first alone.
    @Test func aChainedOggIsTranscribedToItsLastStream() throws {
        try TestEnvironment.requireTool("sox", package: "sox")
        try withTemporaryDirectory { directory in
            let parts = ["numbers", "quick_brown_fox"].map { directory.appendingPathComponent("\($0).ogg").path }
            for (clip, part) in zip(["numbers", "quick_brown_fox"], parts) {
                #expect(try Run.shell("sox '\(Fixtures.clip(clip))' '\(part)'").status == 0)
            }
            let chained = directory.appendingPathComponent("chained.ogg").path
            let joined = directory.appendingPathComponent("joined.wav").path
            #expect(try Run.shell("cat '\(parts[0])' '\(parts[1])' > '\(chained)'").status == 0)
            #expect(try Run.shell("sox '\(parts[0])' '\(parts[1])' -e floating-point -b 32 '\(joined)'").status == 0)

            let expected = try Run(["--model", Self.model, "--format", "json", joined])
            let firstAlone = try duration(try Run(["--model", Self.model, "--format", "json", parts[0]]))
            for run in try fileAndPipe(chained) {
                #expect(run.status == 0)
                #expect(run.stderr == "")
                #expect(try duration(run) == duration(expected) && duration(run) > firstAlone + 2)
                #expect(try document(run)["text"] as? String == document(expected)["text"] as? String)
            }
        }
    }

    /// Opus streams chained, and streams of different rates and channel counts (16 kHz mono
    /// Vorbis, 48 kHz stereo Opus): every one is read, each at its length.
    @Test func chainedOpusAndMixedStreamsAreReadWhole() throws {
        try TestEnvironment.requireTool("sox", package: "sox")
        try withTemporaryDirectory { directory in
            let opus = AudioFixture.path("stereo.opus")
            let vorbis = directory.appendingPathComponent("numbers.ogg").path
            #expect(try Run.shell("sox '\(Fixtures.clip("numbers"))' '\(vorbis)'").status == 0)
            let single = try duration(try Run(["--model", Self.model, "--format", "json", opus]))
            let speech = try duration(try Run(["--model", Self.model, "--format", "json", vorbis]))
            for (parts, expected) in [([opus, opus, opus], 3 * single), ([vorbis, opus], speech + single)] {
                let chained = directory.appendingPathComponent("chained.ogg").path
                let list = parts.map { "'\($0)'" }.joined(separator: " ")
                #expect(try Run.shell("cat \(list) > '\(chained)'").status == 0)
                for run in try fileAndPipe(chained) {
                    #expect(run.status == 0)
                    #expect(run.stderr == "")
                    #expect(abs(try duration(run) - expected) < 0.002, "\(parts)")
                }
            }
        }
    }

    // MARK: MP3 without a Xing header

    /// The fixture MP3 (ffmpeg, LAME) with its Info frame taken out and a padded ID3v2 tag in
    /// front, as LAME writes without a seekable output: libsndfile's length estimate counts the
    /// tag as audio, which was reported as truncation.
    static func mp3WithoutXingHeader() throws -> Data {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: AudioFixture.path("stereo.mp3"))))
        let tagEnd = 10 + bytes[6...9].reduce(0) { $0 << 7 | Int($1) }
        let info = try #require(MPEGFrameHeader(bytes[tagEnd...]))
        #expect(String(decoding: bytes[(tagEnd + 36)..<(tagEnd + 40)], as: UTF8.self) == "Info")
        let padding = 4096
        // "ID3", version 4.0, no flags, a syncsafe size, then padding.
        let tag: [UInt8] =
            Array("ID3".utf8) + [4, 0, 0] + [0, 0, UInt8(padding >> 7), 0] + [UInt8](repeating: 0, count: padding)
        return Data(tag + bytes[(tagEnd + info.length)...])
    }

    @Test func anMP3WithoutXingHeaderIsNotCalledTruncated() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("no-xing.mp3").path
            try Self.mp3WithoutXingHeader().write(to: URL(fileURLWithPath: path))
            for run in try fileAndPipe(path, format: "txt") {
                #expect(run.status == 0)
                #expect(run.stderr == "")
                #expect(!run.stdout.isEmpty)
            }
        }
    }

    /// Frames of silence (MPEG-1 Layer III, 44.1 kHz, side information and data all zero) at
    /// `bitrateIndex`es: a variable bitrate without a Xing header.
    static func silentFrames(_ bitrateIndexes: [UInt8]) -> Data {
        Data(
            bitrateIndexes.flatMap { index -> [UInt8] in
                let header: [UInt8] = [0xFF, 0xFB, index << 4, 0x40]
                return header + [UInt8](repeating: 0, count: MPEGFrameHeader(header)!.length - 4)
            })
    }

    /// A variable bitrate without a Xing header: libsndfile estimates the length from the first
    /// frame's bitrate (320 kb/s) and stopped there, a tenth of the way in. All 201 frames are
    /// read (less the 529 samples of decoder delay libmpg123 trims once it knows the length).
    @Test func aVariableBitrateMP3WithoutXingHeaderIsReadToTheEnd() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("vbr.mp3").path
            try Self.silentFrames([14] + [UInt8](repeating: 1, count: 200)).write(to: URL(fileURLWithPath: path))
            let expected = Double(201 * 1152 - 529) / 44_100
            for run in try fileAndPipe(path) {
                #expect(run.status == 0)
                #expect(run.stderr == "")
                #expect(abs(try duration(run) - expected) < 0.001)
            }
        }
    }

    /// `cat a.mp3 b.mp3`: the first file's Xing header counts its own frames only, where
    /// libsndfile stopped. Both files' frames are read (less the decoder delay, as above).
    @Test func joinedMP3sAreReadToTheLastFrame() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("joined.mp3").path
            let one = try Data(contentsOf: URL(fileURLWithPath: AudioFixture.path("stereo.mp3")))
            try (one + one).write(to: URL(fileURLWithPath: path))
            // 9 audio frames each, and the second file's Info frame, decoded as one of silence.
            let expected = Double(19 * 1152 - 529) / 44_100
            for run in try fileAndPipe(path) {
                #expect(run.status == 0)
                #expect(run.stderr == "")
                #expect(abs(try duration(run) - expected) < 0.001)
            }
        }
    }

    /// A cut file keeps its warning: the last frame short of its end, or frames that stop before
    /// the end at bytes that are none.
    @Test(arguments: [("cut in its last frame", 100), ("junk after the frames", -1)])
    func anMP3CutShortIsStillCalledTruncated(_ name: String, _ cut: Int) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("cut.mp3").path
            var bytes = try Self.mp3WithoutXingHeader()
            if cut > 0 { bytes.removeLast(cut) } else { bytes.append(Data("not audio, 23,45,67\n".utf8)) }
            try bytes.write(to: URL(fileURLWithPath: path))
            for (run, name) in zip(try fileAndPipe(path, format: "txt"), [path, "-"]) {
                #expect(run.status == 0)
                #expect(run.stderr.hasPrefix("transcribe: \(name): warning: truncated: "), "\(run.stderr)")
                #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
            }
        }
    }

    // MARK: WAV whose header was never finished

    /// The clip's bytes with the RIFF and data sizes replaced, as a recorder stopped mid-write
    /// leaves them (sizes 0, a RIFF placeholder, a data size written early).
    static func wav(riffSize: UInt32, dataSize: UInt32) throws -> Data {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.clip("numbers"))))
        let data = try #require((12..<(bytes.count - 8)).first { bytes[$0..<($0 + 4)].elementsEqual("data".utf8) })
        bytes.replaceSubrange(4..<8, with: littleEndianBytes([riffSize]))
        bytes.replaceSubrange((data + 4)..<(data + 8), with: littleEndianBytes([dataSize]))
        return Data(bytes)
    }

    /// The transcript is the intact file's, with one warning line.
    @Test(arguments: [(0, 0), (0xFFFF_FFFF, 0), (0, 1000), (36, 0)] as [(UInt32, UInt32)])
    func anUnfinishedWAVHeaderGivesAllTheAudioWithAWarning(_ riffSize: UInt32, _ dataSize: UInt32) throws {
        let intact = try Run(["--model", Self.model, Fixtures.clip("numbers")])
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("unfinished.wav").path
            try Self.wav(riffSize: riffSize, dataSize: dataSize).write(to: URL(fileURLWithPath: path))
            for (run, name) in zip(try fileAndPipe(path, format: "txt"), [path, "-"]) {
                #expect(run.status == 0)
                #expect(run.stdout == intact.stdout && !intact.stdout.isEmpty)
                #expect(
                    run.stderr.hasPrefix(
                        "transcribe: \(name): warning: unfinished header: its data size is \(dataSize) bytes"),
                    "\(run.stderr)")
                #expect(run.stderr.split(separator: "\n").count == 1)
            }
        }
    }

    /// What may follow the audio of a complete WAV is no sign of an unfinished header: a LIST
    /// chunk, zero padding.
    @Test(arguments: [
        ("LIST chunk", Array("LIST".utf8) + [4, 0, 0, 0] + Array("INFO".utf8)),
        ("zeros", [UInt8](repeating: 0, count: 512)),
    ])
    func chunksAfterTheAudioAreNoDamage(_ name: String, _ trailer: [UInt8]) throws {
        let intact = try Run(["--model", Self.model, Fixtures.clip("numbers")])
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("complete.wav").path
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.clip("numbers")))) + trailer
            bytes.replaceSubrange(4..<8, with: littleEndianBytes([UInt32(bytes.count - 8)]))
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            for run in try fileAndPipe(path, format: "txt") {
                #expect(run.status == 0)
                #expect(run.stdout == intact.stdout)
                #expect(run.stderr == "")
            }
        }
    }
}
