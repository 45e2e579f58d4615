import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// An MPEG-1 Layer III frame of silence (44.1 kHz, joint stereo, side information and data all
/// zero) at `bitrateIndex`: 1 is 32 kb/s, 9 is 128 kb/s, 14 is 320 kb/s.
func silentMP3Frame(bitrateIndex: UInt8 = 9, padding: Bool = false) -> [UInt8] {
    let header: [UInt8] = [0xFF, 0xFB, bitrateIndex << 4 | (padding ? 2 : 0), 0x40]
    return header + [UInt8](repeating: 0, count: MPEGFrameHeader(header)!.length - 4)
}

/// An Ogg page (RFC 3533 §6) with `body`; the CRC is left 0, which the parsers do not check.
func oggPage(firstOfStream: Bool = false, serial: UInt32, body: [UInt8]) -> [UInt8] {
    var lacing = [UInt8](repeating: 255, count: body.count / 255)
    lacing.append(UInt8(body.count % 255))
    var page = Array("OggS".utf8) + [0, firstOfStream ? 2 : 0] + [UInt8](repeating: 0, count: 8)
    page += littleEndianBytes([serial]) + [UInt8](repeating: 0, count: 8) + [UInt8(lacing.count)] + lacing
    return page + body
}

/// A logical stream of `pages` pages, each with a body of `bodyBytes` bytes.
func oggStream(serial: UInt32, pages: Int, bodyBytes: Int = 300) -> [UInt8] {
    (0..<pages).flatMap {
        oggPage(firstOfStream: $0 == 0, serial: serial, body: [UInt8](repeating: UInt8($0), count: bodyBytes))
    }
}

/// The parsers behind the repairs, on bytes built by hand: MPEG frame headers and the frame
/// walk, Ogg pages and chain links, RIFF headers. Every parse is bounded: cut or random bytes
/// give an answer, never a trap.
@Suite struct DamagedAudioParsingTests {
    // MARK: MPEG frames

    /// Lengths from ISO/IEC 11172-3 and 13818-3: 144 * bitrate / rate (+ padding) for Layers II
    /// and III (72 for MPEG-2 Layer III), 4 * (12 * bitrate / rate + padding) for Layer I.
    @Test(
        arguments: [
            ([0xFF, 0xFB, 0x90, 0x40], 417, 1152),  // MPEG-1 L3 128k 44.1k
            ([0xFF, 0xFB, 0x92, 0x40], 418, 1152),  // padded
            ([0xFF, 0xFB, 0xE4, 0x64], 960, 1152),  // MPEG-1 L3 320k 48k (the LibriVox recording)
            ([0xFF, 0xF3, 0x88, 0xC4], 288, 576),  // MPEG-2 L3 64k 16k mono
            ([0xFF, 0xE3, 0x18, 0xC4], 72, 576),  // MPEG-2.5 L3 8k 8k
            ([0xFF, 0xFD, 0x80, 0x00], 417, 1152),  // MPEG-1 L2 128k 44.1k
            ([0xFF, 0xFF, 0x40, 0x00], 136, 384),  // MPEG-1 L1 128k 44.1k: 4 * 34
        ] as [([UInt8], Int, Int)])
    func frameLengthsFollowTheStandard(_ bytes: [UInt8], _ length: Int, _ samples: Int) throws {
        let header = try #require(MPEGFrameHeader(bytes))
        #expect(header.length == length)
        #expect(header.samplesPerFrame == samples)
    }

    @Test(
        arguments: [
            [0xFF, 0xFB, 0xF0, 0x40],  // bitrate index 15
            [0xFF, 0xFB, 0x9C, 0x40],  // sample rate index 3
            [0xFF, 0xFB, 0x00, 0x40],  // free format
            [0xFF, 0xF9, 0x90, 0x40],  // reserved layer
            [0xFF, 0xEB, 0x90, 0x40],  // reserved version
            [0xFE, 0xFB, 0x90, 0x40], [0xFF, 0xFB, 0x90],
        ] as [[UInt8]])
    func invalidHeadersAreRefused(_ bytes: [UInt8]) {
        #expect(MPEGFrameHeader(bytes) == nil)
    }

    /// An ID3v2 tag, frames back to back: every frame is counted, and the end is complete
    /// whether tags, zeros or nothing follow.
    @Test(arguments: [[], Array("TAG".utf8) + [UInt8](repeating: 0x20, count: 125), [UInt8](repeating: 0, count: 300)])
    func aCompleteStreamIsWalkedToItsEnd(_ trailer: [UInt8]) throws {
        let id3: [UInt8] = Array("ID3".utf8) + [4, 0, 0, 0, 0, 2, 0] + [UInt8](repeating: 0, count: 256)
        let frames = (0..<50).flatMap { silentMP3Frame(bitrateIndex: $0 % 2 == 0 ? 9 : 14, padding: $0 % 3 == 0) }
        let stream = try #require(MPEGStream(MemoryBytes(Data(id3 + frames + trailer))))
        #expect(stream.audioStart == id3.count)
        #expect(stream.frames == 50 && stream.samples == 50 * 1152)
        #expect(stream.announcedFrames == nil)
        #expect(stream.ending == .complete && stream.damage == nil)
    }

    @Test func aFrameCutShortIsTruncation() throws {
        let bytes = (0..<10).flatMap { _ in silentMP3Frame() }.dropLast(100)
        let stream = try #require(MPEGStream(MemoryBytes(Data(bytes))))
        #expect(stream.frames == 9)
        #expect(stream.ending == .cutFrame(missing: 100))
        #expect(stream.damage?.hasPrefix("truncated: the file ends inside its last MPEG frame") == true)
    }

    /// Text after the frames (the LibriVox recording ends so) is no tag: the frames stopped
    /// early. Junk between frames is skipped, as a decoder resyncs.
    @Test func bytesThatAreNoFrameAreSkippedInsideAndReportedAtTheEnd() throws {
        let frames = (0..<10).flatMap { _ in silentMP3Frame() }
        let junk = Array("oppoMark 0,0,10128,24425".utf8)
        let stream = try #require(MPEGStream(MemoryBytes(Data(frames + junk + frames + junk))))
        #expect(stream.frames == 20)
        #expect(stream.ending == .unknownBytes(remaining: junk.count))
        #expect(stream.damage?.hasPrefix("truncated: the MPEG frames stop \(junk.count) bytes before the end") == true)
    }

    /// Files joined with `cat` have their tags in between: ID3v2 and ID3v1 are stepped over.
    @Test func tagsBetweenFramesAreSteppedOver() throws {
        let frames = (0..<5).flatMap { _ in silentMP3Frame() }
        let id3v2: [UInt8] = Array("ID3".utf8) + [3, 0, 0, 0, 0, 0, 20] + [UInt8](repeating: 0xFF, count: 20)
        let id3v1: [UInt8] = Array("TAG".utf8) + [UInt8](repeating: 0xFF, count: 125)
        let stream = try #require(MPEGStream(MemoryBytes(Data(frames + id3v1 + id3v2 + frames + id3v1))))
        #expect(stream.frames == 10 && stream.ending == .complete)
    }

    /// The Info frame made for a file without one: a frame of the same stream, which the walk
    /// reads back as the announcement it is.
    @Test func theInfoFrameAnnouncesTheFramesCounted() throws {
        let frames = (0..<30).flatMap { _ in silentMP3Frame(bitrateIndex: 1) }
        let info = try #require(MPEGStream.infoFrame(like: Array(frames.prefix(4)), frames: 30))
        let header = try #require(MPEGFrameHeader(info))
        #expect(header.continues(try #require(MPEGFrameHeader(frames))) && !header.protected)
        #expect(info.count == header.length && info.count >= 4 + 32 + 12)
        let stream = try #require(MPEGStream(MemoryBytes(Data(info + frames))))
        #expect(stream.announcedFrames == 30 && stream.frames == 30 && stream.damage == nil)
        // Announced more than there are: a file cut at a frame's end.
        let cut = try #require(MPEGStream(MemoryBytes(Data(info + frames.prefix(20 * frames.count / 30)))))
        #expect(cut.damage?.hasPrefix("truncated: the file holds 20 of the 30 MPEG frames") == true)
        #expect(MPEGStream.infoFrame(like: [0xFF, 0xFD, 0x90, 0x00], frames: 1) == nil)  // Layer II
    }

    /// MPEG-2 Layer III stereo at 8 kb/s has frames too small for the tag (26 bytes): a higher
    /// bitrate is taken.
    @Test func theInfoFrameFitsTheLowestBitrates() throws {
        let info = try #require(MPEGStream.infoFrame(like: [0xFF, 0xF3, 0x10, 0x44], frames: 7))
        let header = try #require(MPEGFrameHeader(info))
        #expect(header.sampleRate == 22_050 && header.bitrate == 16_000 && header.length == 52)
        #expect(String(decoding: info[21..<25], as: UTF8.self) == "Info")
        #expect(info[29..<33].elementsEqual([0, 0, 0, 7]))
    }

    // MARK: Ogg chains

    @Test func chainedStreamsAreCutAtEachFirstPage() throws {
        let first = oggStream(serial: 1, pages: 3)
        let second = oggStream(serial: 2, pages: 4, bodyBytes: 600)
        let third = oggStream(serial: 3, pages: 1)
        let links = OggChain.links(in: MemoryBytes(Data(first + second + third)))
        let ends = [first.count, first.count + second.count, first.count + second.count + third.count]
        let expected: [Range<Int>] = [0..<ends[0], ends[0]..<ends[1], ends[1]..<ends[2]]
        #expect(links == expected)
        #expect(OggChain.links(in: MemoryBytes(Data(first))) == [0..<first.count])
    }

    /// Streams multiplexed together begin with all their first pages side by side: one link.
    /// Junk between pages stays with the stream before it; a page cut short ends the last one.
    @Test func multiplexedStreamsJunkAndCutPagesStayInTheirLink() throws {
        let multiplexed =
            oggPage(firstOfStream: true, serial: 1, body: [1]) + oggPage(firstOfStream: true, serial: 2, body: [2])
            + oggPage(serial: 1, body: [3]) + oggPage(serial: 2, body: [4])
        let junk = Array("not a page".utf8)
        let second = oggStream(serial: 3, pages: 2)
        let bytes =
            multiplexed + junk + second + oggPage(serial: 3, body: [UInt8](repeating: 5, count: 1000)).dropLast(10)
        let links = OggChain.links(in: MemoryBytes(Data(bytes)))
        #expect(links == [0..<(multiplexed.count + junk.count), (multiplexed.count + junk.count)..<bytes.count])
    }

    /// Past the parsers' read windows: long streams, junk longer than a window between them.
    @Test func longStreamsAndLongJunkAreFollowed() throws {
        let first = oggStream(serial: 1, pages: 40, bodyBytes: 4000)
        let junk = [UInt8](repeating: 0x4F, count: 70_000)  // "O", the start of a capture pattern
        let second = oggStream(serial: 2, pages: 30, bodyBytes: 5000)
        let links = OggChain.links(in: MemoryBytes(Data(first + junk + second)))
        let boundary = first.count + junk.count
        #expect(links == [0..<boundary, boundary..<(boundary + second.count)])

        let frames = (0..<300).flatMap { _ in silentMP3Frame() }
        let stream = try #require(MPEGStream(MemoryBytes(Data(frames + junk + frames))))
        #expect(stream.frames == 600 && stream.ending == .complete)
    }

    /// The splitter for pipes finds the same links in bytes arriving in pieces of any size, and
    /// passes every byte on.
    @Test(arguments: [1, 7, 300, 4096])
    func theSplitterForPipesFindsTheSameLinks(_ pieceBytes: Int) {
        let bytes = oggStream(serial: 1, pages: 3) + Array("junk".utf8) + oggStream(serial: 2, pages: 5, bodyBytes: 700)
        var splitter = OggChainSplitter()
        var links: [[UInt8]] = [[]]
        var offset = 0
        var pieces: [StreamPiece] = []
        while offset < bytes.count {
            pieces += splitter.append(bytes[offset..<min(bytes.count, offset + pieceBytes)])
            offset += pieceBytes
        }
        for piece in pieces + splitter.finish() {
            switch piece {
            case .bytes(let chunk): links[links.count - 1] += chunk
            case .nextStream: links.append([])
            }
        }
        let ranges = OggChain.links(in: MemoryBytes(Data(bytes)))
        #expect(links.map(\.count) == ranges.map(\.count))
        #expect(Array(links.joined()) == bytes)
    }

    // MARK: WAV headers

    static func header(riffSize: UInt32 = 0, dataSize: UInt32, payload: Int = 1000) -> [UInt8] {
        var bytes = [UInt8](
            wavBytes(
                format: 1, channels: 2, sampleRate: 16_000, bitsPerSample: 16,
                payload: [UInt8](repeating: 7, count: payload)))
        bytes.replaceSubrange(4..<8, with: littleEndianBytes([riffSize]))
        bytes.replaceSubrange(40..<44, with: littleEndianBytes([dataSize]))
        return bytes
    }

    /// The size put in is the audio's, in whole frames (4 bytes here).
    @Test(arguments: [(0, 1000, 1000), (8, 1000, 1000), (992, 1000, 1000), (0, 999, 996)] as [(UInt32, Int, UInt64)])
    func aDataSizeShortOfTheAudioIsRepaired(_ dataSize: UInt32, _ payload: Int, _ repaired: UInt64) throws {
        let bytes = Self.header(dataSize: dataSize, payload: payload)
        let repair = try #require(WAVHeader.repair(of: MemoryBytes(Data(bytes))))
        #expect(repair.header.dataOffset == 44 && repair.header.dataSize == UInt64(dataSize))
        #expect(repair.header.blockAlign == 4)
        #expect(repair.dataSize == repaired)
        let patched = repair.applied(to: MemoryBytes(Data(bytes)))
        let header = try #require(WAVHeader(patched.bytes(0..<44)))
        #expect(header.dataSize == repaired)
        #expect(WAVHeader.integer(patched.bytes(0..<8), at: 4, bytes: 4, bigEndian: false) == UInt64(bytes.count - 8))
        #expect(patched.bytes(44..<patched.count) == Array(bytes[44...]))
    }

    /// Sizes that are right, claim more than there is (libsndfile's case), or are followed by the
    /// chunks, padding or stray bytes (fewer than a chunk header) that come after audio need no repair.
    @Test func aCompleteHeaderIsLeftAlone() {
        let list = Array("LIST".utf8) + littleEndianBytes([UInt32(4)]) + Array("INFO".utf8)
        for bytes in [
            Self.header(dataSize: 1000), Self.header(dataSize: 0xFFFF_FFFF), Self.header(dataSize: 1000) + list,
            Self.header(dataSize: 999, payload: 1000) + list,
            Self.header(dataSize: 600, payload: 600) + [UInt8](repeating: 0, count: 64),
            Self.header(dataSize: 0, payload: 0) + list, Self.header(dataSize: 1000) + [1, 2, 3],
        ] {
            #expect(WAVHeader.repair(of: MemoryBytes(Data(bytes))) == nil)
        }
    }

    /// RF64 keeps its sizes in `ds64` (EBU Tech 3306): that is where the repair goes.
    @Test func anRF64DataSizeIsRepairedInItsDS64Chunk() throws {
        let fmt = Array(Self.header(dataSize: 0)[12..<36])
        let ds64 = Array("ds64".utf8) + littleEndianBytes([UInt32(28)]) + [UInt8](repeating: 0, count: 28)
        let bytes =
            Array("RF64".utf8) + [0xFF, 0xFF, 0xFF, 0xFF] + Array("WAVE".utf8) + ds64 + fmt
            + Array("data".utf8) + [0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 9, count: 800)
        let repair = try #require(WAVHeader.repair(of: MemoryBytes(Data(bytes))))
        let patched = repair.applied(to: MemoryBytes(Data(bytes))).bytes(0..<repair.header.dataOffset)
        #expect(WAVHeader.integer(patched, at: 20 + 8, bytes: 8, bigEndian: false) == 800)
        #expect(WAVHeader(patched)?.dataSize == 800)
    }

    /// The same from a pipe: a size of 0 becomes the placeholder; audio past a short size becomes
    /// a stream of its own behind a header of the same format; a chunk after the data does not.
    @Test(arguments: [1, 5, 64, 4096])
    func aPipedHeaderIsRepairedAsItPasses(_ pieceBytes: Int) throws {
        func relay(_ bytes: [UInt8]) -> (links: [[UInt8]], notes: [String]) {
            var repair = WAVStreamRepair()
            var links: [[UInt8]] = [[]]
            var offset = 0
            var pieces: [StreamPiece] = []
            while offset < bytes.count {
                pieces += repair.append(bytes[offset..<min(bytes.count, offset + pieceBytes)])
                offset += pieceBytes
            }
            for piece in pieces + repair.finish() {
                switch piece {
                case .bytes(let chunk): links[links.count - 1] += chunk
                case .nextStream: links.append([])
                }
            }
            return (links, repair.notes)
        }
        let zero = relay(Self.header(dataSize: 0))
        #expect(zero.links.count == 1 && zero.links[0].count == 1044)
        #expect(WAVHeader(zero.links[0])?.dataSize == 0xFFFF_FFFF)
        #expect(zero.notes == [WAVHeader.unfinishedNote(claimed: 0, found: 1000)])

        let short = relay(Self.header(dataSize: 402))
        #expect(short.links.count == 2 && short.links[0].count == 44 + 400)
        let continued = try #require(WAVHeader(short.links[1]))
        #expect(continued.dataSize == 0xFFFF_FFFF && continued.formatChunk == Array(Self.header(dataSize: 0)[12..<36]))
        #expect(short.links[1].count == continued.dataOffset + 600)
        #expect(short.notes == [WAVHeader.unfinishedNote(claimed: 402, found: 1000)])

        let list = Array("LIST".utf8) + littleEndianBytes([UInt32(4)]) + Array("INFO".utf8)
        for complete in [
            Self.header(dataSize: 1000) + list, Self.header(dataSize: 0, payload: 0) + list,
            Self.header(dataSize: 1000) + [1, 2, 3],
        ] {
            let passed = relay(complete)
            #expect(passed.links == [complete] && passed.notes.isEmpty)
        }
    }

    // MARK: Hostile bytes

    /// Cut, random and repeated bytes: every parser answers without a trap.
    @Test func hostileBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        let seeds: [[UInt8]] = [
            silentMP3Frame(), oggStream(serial: 1, pages: 2), Self.header(dataSize: 0),
            [0xFF, 0xFB, 0x90, 0x40], Array("OggS".utf8), Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVEdata".utf8),
            Array("ID3".utf8) + [4, 0, 0, 0x7F, 0x7F, 0x7F, 0x7F], [UInt8](repeating: 0xFF, count: 3000),
        ]
        for seed in seeds {
            for cut in [0, 1, 3, 4, 11, 27, 44, seed.count / 2, seed.count] where cut <= seed.count {
                var bytes = Array(seed.prefix(cut))
                for _ in 0..<3 {
                    let source = MemoryBytes(Data(bytes))
                    _ = MPEGStream(source)
                    _ = OggChain.links(in: source)
                    _ = WAVHeader.repair(of: source)
                    var splitter = OggChainSplitter()
                    _ = splitter.append(bytes[...]) + splitter.finish()
                    var repair = WAVStreamRepair()
                    _ = repair.append(bytes[...]) + repair.finish()
                    bytes += (0..<64).map { _ in UInt8.random(in: 0...255, using: &generator) }
                }
            }
        }
    }
}
