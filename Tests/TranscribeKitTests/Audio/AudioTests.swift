import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Decoding: every container gives the fixture's samples, stereo is averaged, bad input
/// throws an `AudioError` that names the file and nothing traps.
@Suite struct AudioTests {
    /// The 32-bit float WAV is the reference every other encoding is compared with.
    let reference: DecodedAudio

    init() throws {
        reference = try DecodedAudio(path: AudioFixture.path("stereo-f32.wav"))
    }

    @Test func stereoMixesDownToChannelAverage() throws {
        let expected = AudioFixture.mono  // (left + right) / 2 from the formula
        #expect(reference.channels == 2)
        #expect(reference.samples.count == expected.count)
        #expect(maxDifference(reference.samples, expected) <= 1e-6)

        // 16-bit integers go through libsndfile's /32768 normalisation on the way.
        let pcm16 = try DecodedAudio(path: AudioFixture.path("stereo-s16.wav"))
        #expect(maxDifference(pcm16.samples, expected) <= 1.0 / 32768)
    }

    /// Lossless encodings match the float reference within one quantisation step,
    /// plus one Float ulp at 1.0 for the mixdown's rounding.
    @Test(arguments: [
        ("stereo-u8.wav", 8),
        ("stereo-s16.wav", 16),
        ("stereo-s24.wav", 24),
        ("stereo-s32.wav", 32),
        ("stereo.flac", 16),
    ])
    func losslessFormatMatchesReference(file: String, bits: Int) throws {
        let audio = try DecodedAudio(path: AudioFixture.path(file))
        let step = 1 / Float(1 << (bits - 1))
        #expect(audio.sampleRate == AudioFixture.sampleRate)
        #expect(audio.channels == 2)
        #expect(audio.samples.count == AudioFixture.frames)
        #expect(maxDifference(audio.samples, reference.samples) <= step + Float.ulpOfOne)
    }

    /// Lossy encodings keep the waveform: aligned with the reference (best lag within ±3000
    /// samples, over the middle of the clip) they correlate above 0.98, about 14 dB SNR. These
    /// files reach 0.989 (Vorbis q4) to 0.99999 (MP3); one channel instead of the average
    /// gives 0.77. libsndfile trims each codec's delay and padding, so the best lag is 0 and
    /// the length is the source's within one codec frame (`padding`, frames at the decoded rate).
    @Test(arguments: [
        ("stereo.ogg", 44_100, 2048),
        ("stereo.opus", 48_000, 960),
        ("stereo.mp3", 44_100, 1152),
    ])
    func lossyFormatMatchesReference(file: String, sampleRate: Int, padding: Int) throws {
        let audio = try DecodedAudio(path: AudioFixture.path(file))
        #expect(audio.sampleRate == sampleRate)
        #expect(audio.channels == 2)
        #expect(abs(audio.duration - reference.duration) <= Double(padding) / Double(sampleRate))

        let decoded = try resample(audio.samples, from: sampleRate, to: reference.sampleRate)
        let (lag, correlation) = bestAlignment(decoded, reference.samples, maxLag: 3000)
        #expect(lag == 0)
        #expect(correlation > 0.98)
        // MP3 at 128 kb/s comes back 0.45 dB quieter (LAME's doing; ffmpeg decodes the same).
        let level = rms(decoded[...]) / rms(reference.samples[...])
        #expect(abs(20 * log10(level)) < 1)
    }

    @Test func formatDescriptionNamesContainerAndEncoding() throws {
        let file = try AudioFile(path: AudioFixture.path("stereo-s16.wav"))
        #expect(file.formatDescription == "WAV (Microsoft), Signed 16 bit PCM")
        #expect(file.frames == Int64(AudioFixture.frames))
    }

    enum BadInput: CaseIterable { case missing, directory, empty, textNamedWav }

    @Test(arguments: BadInput.allCases)
    func badInputThrowsErrorNamingThePath(_ input: BadInput) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("input.wav").path
            let reason: String
            switch input {
            case .missing:
                reason = "no such file"
            case .directory:
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: false)
                reason = "is a directory"
            case .empty:
                try Data().write(to: URL(fileURLWithPath: path))
                reason = "file is empty"
            case .textNamedWav:
                try Data("not audio, just words\n".utf8).write(to: URL(fileURLWithPath: path))
                reason = "Format not recognised."  // libsndfile's own words
            }
            let error = #expect(throws: AudioError.self) {
                try loadAudio(path: path, sampleRate: 16_000)
            }
            #expect(error == .cannotOpen(path: path, reason: reason))
            #expect(error?.description == "cannot open audio file '\(path)': \(reason)")
        }
    }

    @Test func zeroChannelHeaderIsRejected() throws {
        let wav = wavBytes(
            format: 1, channels: 0, sampleRate: 16_000, bitsPerSample: 16, payload: [0, 0, 0, 0])
        try withTemporaryDirectory { directory in
            let path = try write(wav, named: "zero-channels.wav", in: directory)
            #expect(throws: AudioError.cannotOpen(path: path, reason: "Channel count is zero.")) {
                try AudioFile(path: path)
            }
        }
    }

    @Test func monoFileIsReadAsStored() throws {
        let values: [Int16] = [0, 1, -1, 16_384, -32_768, 32_767]
        let wav = wavBytes(
            format: 1, channels: 1, sampleRate: 16_000, bitsPerSample: 16,
            payload: littleEndianBytes(values))
        try withTemporaryDirectory { directory in
            let audio = try DecodedAudio(path: write(wav, named: "mono.wav", in: directory))
            #expect(audio.channels == 1)
            #expect(audio.samples == values.map { Float($0) / 32_768 })
        }
    }

    /// Float files may hold NaN and infinities; they pass through the mixdown without a trap.
    @Test func nonFiniteSamplesDoNotTrap() throws {
        let stereo: [Float] = [.nan, 0, .infinity, -.infinity, 1, 0.5]
        let wav = wavBytes(
            format: 3, channels: 2, sampleRate: 16_000, bitsPerSample: 32,
            payload: littleEndianBytes(stereo))
        try withTemporaryDirectory { directory in
            let samples = try AudioFile(path: write(wav, named: "nan.wav", in: directory))
                .readMono()
            #expect(samples.count == 3)
            #expect(samples[0].isNaN && samples[1].isNaN)
            #expect(samples[2] == 0.75)
            // Decoding for the model refuses them with a reason rather than transcribing garbage.
            #expect(
                throws: AudioError.readFailed(
                    path: directory.appendingPathComponent("nan.wav").path,
                    reason: "2 samples are NaN or infinite")
            ) {
                _ = try DecodedAudio(path: directory.appendingPathComponent("nan.wav").path)
            }
        }
    }

    /// Audio held in memory (standard input) decodes to the same samples as the file, for every
    /// container, also those libsndfile reads by seeking.
    @Test(arguments: ["stereo-s16.wav", "stereo.flac", "stereo.ogg", "stereo.opus", "stereo.mp3"])
    func audioInMemoryDecodesAsTheFile(_ name: String) throws {
        let path = AudioFixture.path(name)
        let fromFile = try DecodedAudio(path: path)
        let fromMemory = try DecodedAudio(data: Data(contentsOf: URL(fileURLWithPath: path)), name: "-")
        #expect(fromMemory.samples == fromFile.samples)
        #expect(fromMemory.sampleRate == fromFile.sampleRate)
        #expect(throws: AudioError.self) { _ = try DecodedAudio(data: Data("not audio".utf8), name: "-") }
        #expect(throws: AudioError.cannotOpen(path: "-", reason: "no data")) {
            _ = try DecodedAudio(data: Data(), name: "-")
        }
    }

    /// A header claiming 4 GB of data in front of 100 frames yields those 100 frames.
    @Test func headerClaimingMoreDataThanPresentReadsWhatIsThere() throws {
        let wav = wavBytes(
            format: 1, channels: 1, sampleRate: 16_000, bitsPerSample: 16,
            payload: littleEndianBytes([Int16](repeating: 100, count: 100)),
            claimedDataSize: 0xFFFF_FFF0)
        try withTemporaryDirectory { directory in
            let audio = try DecodedAudio(path: write(wav, named: "huge.wav", in: directory))
            #expect(audio.samples == [Float](repeating: 100.0 / 32_768, count: 100))
        }
    }

    static let fixtureFiles = [
        "stereo-f32.wav", "stereo-s32.wav", "stereo-s24.wav", "stereo-s16.wav", "stereo-u8.wav",
        "stereo.flac", "stereo.ogg", "stereo.opus", "stereo.mp3",
    ]

    /// Half of each fixture either decodes to fewer samples or throws; it never traps.
    @Test(arguments: fixtureFiles)
    func truncatedFileDecodesPartlyOrThrows(file: String) throws {
        let bytes = try Data(contentsOf: AudioFixture.directory.appendingPathComponent(file))
        try withTemporaryDirectory { directory in
            let path = try write(bytes.prefix(bytes.count / 2), named: file, in: directory)
            do throws(AudioError) {
                let audio = try DecodedAudio(path: path)
                #expect(audio.duration < reference.duration)
            } catch {
                #expect(error.description.contains(path))
            }
        }
    }
}

private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

private func write(_ data: Data, named name: String, in directory: URL) throws -> String {
    let url = directory.appendingPathComponent(name)
    try data.write(to: url)
    return url.path
}
