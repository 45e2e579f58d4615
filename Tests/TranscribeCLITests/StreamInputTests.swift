import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Standard input, named pipes and devices: what streams is decoded as it arrives, what cannot
/// be audio fails after a bounded read, what must seek is read into bounded memory.
@Suite struct StreamInputTests {
    static let modelName = "large-prenorm-f16"
    static let model = Fixtures.models.appendingPathComponent(modelName).path

    /// 70 s: the "numbers" clip over and over with a little silence between, as 16-bit samples.
    static let seventySeconds: [Int16] = {
        let clip = (try? loadAudio(path: Fixtures.clip("numbers"), sampleRate: 16_000)) ?? []
        var samples: [Float] = []
        while samples.count < 70 * 16_000 { samples += clip + [Float](repeating: 0, count: 4_000) }
        return samples.prefix(70 * 16_000).map { Int16(max(-32768, min(32767, ($0 * 32768).rounded()))) }
    }()

    /// A WAV header written before the length is known (data size 0xFFFFFFFF), then the samples.
    static var endlessHeaderWAV: Data {
        wavBytes(
            format: 1, channels: 1, sampleRate: 16_000, bitsPerSample: 16,
            payload: littleEndianBytes(seventySeconds), claimedDataSize: 0xFFFF_FFFF)
    }

    /// 70 s written into a pipe a second at a time, with pauses, read with a memory limit of
    /// 1 MiB (the WAV is 2.2 MB): it can only succeed if decoding keeps pace with the writer.
    /// The transcript is the one of the same samples in memory, and a header that could not know
    /// the length is no sign of truncation.
    @Test func aSlowWAVThroughAPipeIsDecodedAsItArrives() throws {
        let bytes = Self.endlessHeaderWAV
        let writeSlowly: @Sendable (FileHandle) -> Void = { handle in
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset == 0 ? 44 : offset + 32_000)
                try? handle.write(contentsOf: bytes[offset..<end])
                offset = end
                usleep(20_000)
            }
        }
        try withPipe(writtenBy: writeSlowly) { readEnd in
            let transcriber = try Wav2Vec2Recognizer(directory: Fixtures.model(Self.modelName))
            let file = try AudioFile(descriptor: readEnd, name: "-", memoryLimit: 1 << 20)
            let stream = try AudioStream(file: file, sampleRate: 16_000)
            let streamed = try transcriber.transcribe(stream: stream, keepingLogProbs: false)
            let expected = transcriber.transcribe(samples: Self.seventySeconds.map { Float($0) / 32768 })
            #expect(file.formatDescription.hasPrefix("WAV"))
            #expect(streamed.duration == 70)
            #expect(streamed.tokens == expected.tokens && streamed.text == expected.text)
            #expect(stream.truncationWarning == nil)
        }
    }

    /// The same through the command line: a header, a pause, then the samples.
    @Test func standardInputTakesAHeaderThenSamplesLater() throws {
        try withTemporaryDirectory { directory in
            let streamed = directory.appendingPathComponent("streamed.wav")
            try Self.endlessHeaderWAV.write(to: streamed)
            let whole = directory.appendingPathComponent("whole.wav")
            try wavBytes(
                format: 1, channels: 1, sampleRate: 16_000, bitsPerSample: 16,
                payload: littleEndianBytes(Self.seventySeconds)
            ).write(to: whole)
            let run = try Run.shell(
                "{ head -c 44 '\(streamed.path)'; sleep 0.3; tail -c +45 '\(streamed.path)'; } | \"$TRANSCRIBE\" --model '\(Self.model)' -"
            )
            let direct = try Run(["--model", Self.model, whole.path])
            #expect(run.status == 0)
            #expect(run.stderr == "")
            #expect(run.stdout == direct.stdout && !direct.stdout.isEmpty)
        }
    }

    /// Endless bytes that are no audio: one line, status 1, after reading 1 MiB.
    @Test(arguments: [
        ("\"$TRANSCRIBE\" --model '\(model)' /dev/zero", "/dev/zero"),
        ("cat /dev/zero | \"$TRANSCRIBE\" --model '\(model)' -", "-"),
        ("cat /dev/urandom | \"$TRANSCRIBE\" --model '\(model)' -", "-"),
    ])
    func endlessNonAudioFailsAfterABoundedRead(_ script: String, _ name: String) throws {
        let run = try Run.shell(script)
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("transcribe: \(name): cannot open: "))
        #expect(run.stderr.hasSuffix(" (in the first 1 MiB of the stream)\n"))
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    @Test func aNamedPipeWithAnEndlessWriterFailsToo() throws {
        try withTemporaryDirectory { directory in
            let fifo = directory.appendingPathComponent("endless.wav").path
            #expect(mkfifo(fifo, 0o600) == 0)
            let run = try Run.shell(
                "cat /dev/zero > '\(fifo)' & \"$TRANSCRIBE\" --model '\(Self.model)' '\(fifo)'; status=$?; wait; exit $status"
            )
            #expect(run.status == 1)
            #expect(
                run.stderr
                    == "transcribe: \(fifo): cannot open: Format not recognised (in the first 1 MiB of the stream)\n")
        }
    }

    /// FLAC seeks, so from a pipe it is read into memory first: transcribed as from the file, and
    /// refused with a clear reason beyond the limit.
    @Test func aFormatThatSeeksIsReadIntoBoundedMemory() throws {
        let flac = AudioFixture.path("stereo.flac")
        let fromPipe = try Run.shell("cat '\(flac)' | \"$TRANSCRIBE\" --model '\(Self.model)' -")
        #expect(fromPipe.status == 0)
        #expect(fromPipe.stdout == (try Run(["--model", Self.model, flac])).stdout)

        let bytes = try Data(contentsOf: URL(fileURLWithPath: flac))
        try withPipe(writtenBy: { try? $0.write(contentsOf: bytes) }) { readEnd in
            #expect(
                throws: AudioError.readFailed(
                    path: "-",
                    reason: "more than 8 KiB arrived; this format is read into memory "
                        + "before decoding when it does not come from a file (it needs to seek): give it as a file")
            ) {
                _ = try AudioFile(descriptor: readEnd, name: "-", memoryLimit: 8 << 10)
            }
        }
    }

    /// Which pipes are handed to libsndfile as they are, by their first bytes (read with tee(2),
    /// so they stay in the pipe).
    @Test(arguments: [
        ("stereo-s16.wav", PipePeek.Kind.streamable), ("stereo-f32.wav", .streamable), ("stereo.ogg", .streamable),
        ("stereo.opus", .streamable), ("stereo.mp3", .needsMemory), ("stereo.flac", .needsMemory),
    ])
    func pipesAreStreamedByFormat(_ name: String, _ expected: PipePeek.Kind) throws {
        let head = try Data(contentsOf: URL(fileURLWithPath: AudioFixture.path(name))).prefix(4096)
        #expect(try classify(head) == expected)
        #expect(try classify(Data(count: 64)) == .needsMemory)
        #expect(try classify(Data()) == .empty)
    }

    /// What `PipePeek` makes of a pipe holding `bytes` (at most 64 KiB) from a writer now gone;
    /// the bytes are all still there afterwards.
    func classify(_ bytes: Data) throws -> PipePeek.Kind {
        let readEnd = try pipeHolding(bytes)
        defer { close(readEnd) }
        let kind = PipePeek.classify(readEnd)
        var left = [UInt8](repeating: 0, count: bytes.count + 1)
        #expect(left.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) } == bytes.count)
        return kind
    }
}

/// A named pipe as an input of the binary: transcribed as the file it carries.
@Suite struct NamedPipeCommandTests {
    @Test func aPipeWithAWriterIsTranscribed() throws {
        try withTemporaryDirectory { directory in
            let fifo = directory.appendingPathComponent("speech.wav").path
            #expect(mkfifo(fifo, 0o600) == 0)
            let clip = Fixtures.clip("short")
            let writer = try Run.shell(
                "cat '\(clip)' > '\(fifo)' & sleep 0.2; \"$TRANSCRIBE\" --model '\(Fixtures.models.path)/large-prenorm-f16' '\(fifo)'"
            )
            let direct = try Run(["--model", "\(Fixtures.models.path)/large-prenorm-f16", clip])
            #expect(writer.status == 0)
            #expect(writer.stdout == direct.stdout)
        }
    }
}
