import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// `AudioFile` over the inputs libsndfile alone reads short, from memory, from a file and from a
/// pipe: every sample is decoded, and damaged variants decode in part or throw, never trap.
@Suite struct DamagedAudioDecodingTests {
    static func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: AudioFixture.path(name)))
    }

    /// Mono samples of `data` through a pipe, read as standard input is (a relay for Ogg and WAV).
    static func throughAPipe(_ data: Data) throws -> (samples: [Float], damage: [String]) {
        try withPipe(writtenBy: { try? $0.write(contentsOf: data) }) { readEnd in
            let file = try AudioFile(descriptor: readEnd, name: "-")
            return (try file.readMono(), file.damage)
        }
    }

    /// Why `bytes` cannot be decoded from memory, or nil when they can.
    static func failure(decoding bytes: [UInt8]) -> String? {
        do {
            _ = try AudioFile(data: Data(bytes), name: "-").readMono()
            return nil
        } catch {
            return error.description
        }
    }

    /// Two Vorbis streams and an Opus one (44.1 kHz and 48 kHz stereo) chained: the samples are
    /// each stream's, one after the other, the Opus stream resampled to the first one's rate.
    @Test func aChainIsDecodedStreamAfterStream() throws {
        let vorbis = try Self.fixture("stereo.ogg")
        let opus = try Self.fixture("stereo.opus")
        let single = try DecodedAudio(data: vorbis, name: "-").samples
        let opusAt44k = try resample(DecodedAudio(data: opus, name: "-").samples, from: 48_000, to: 44_100)
        let chained = vorbis + vorbis + opus
        let decoded = try DecodedAudio(data: chained, name: "-")
        #expect(decoded.sampleRate == 44_100 && decoded.channels == 2)
        #expect(decoded.samples.count == 2 * single.count + opusAt44k.count)
        #expect(Array(decoded.samples.prefix(2 * single.count)) == single + single)
        let piped = try Self.throughAPipe(chained)
        #expect(piped.samples == decoded.samples && piped.damage.isEmpty)
    }

    /// A WAV whose sizes were never written gives the samples of the intact file, from memory and
    /// from a pipe, with the note that says so.
    @Test func anUnfinishedWAVGivesTheIntactSamples() throws {
        let intact = try Self.fixture("stereo-s16.wav")
        var unfinished = [UInt8](intact)
        let data = try #require(
            (12..<(unfinished.count - 8)).first { unfinished[$0..<($0 + 4)].elementsEqual("data".utf8) })
        unfinished.replaceSubrange(4..<8, with: [0, 0, 0, 0])
        unfinished.replaceSubrange((data + 4)..<(data + 8), with: [0, 0, 0, 0])
        let expected = try DecodedAudio(data: intact, name: "-").samples
        let file = try AudioFile(data: Data(unfinished), name: "-")
        #expect(try file.readMono() == expected)
        #expect(file.damage.count == 1 && file.damage[0].hasPrefix("unfinished header: its data size is 0 bytes"))
        let piped = try Self.throughAPipe(Data(unfinished))
        #expect(piped.samples == expected && piped.damage == file.damage)
    }

    /// Chained, unfinished and Xing-less inputs cut, flipped and joined to random bytes: each
    /// decodes to some samples, or throws an `AudioError`; none traps or hangs.
    @Test func damagedVariantsDecodeOrThrow() throws {
        let vorbis = try Self.fixture("stereo.ogg")
        let opus = try Self.fixture("stereo.opus")
        let wav = try [UInt8](Self.fixture("stereo-s16.wav"))
        let mp3 = try [UInt8](Self.fixture("stereo.mp3"))
        let seeds: [[UInt8]] = [
            [UInt8](vorbis + opus + vorbis), Array(wav.prefix(40)) + [0, 0, 0, 0] + wav.dropFirst(44),
            Array(mp3.prefix(20)) + mp3.dropFirst(20 + 418), mp3 + mp3,
        ]
        var generator = SplitMix64(seed: 7)
        for seed in seeds {
            for round in 0..<12 {
                var bytes = seed
                switch round % 4 {
                case 0: bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count))))
                case 1:
                    for _ in 0..<8 {
                        bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                    }
                case 2: bytes += (0..<2000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                default:
                    bytes.insert(
                        contentsOf: (0..<100).map { _ in UInt8(truncatingIfNeeded: generator.next()) },
                        at: bytes.count / 2)
                }
                guard !bytes.isEmpty else { continue }
                if let failure = Self.failure(decoding: bytes) { #expect(failure.contains("'-'")) }
                if bytes.count <= 1 << 16 { _ = try? Self.throughAPipe(Data(bytes)) }
            }
        }
    }
}
