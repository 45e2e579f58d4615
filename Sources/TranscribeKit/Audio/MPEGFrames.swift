/// The header of an MPEG-1/2/2.5 audio frame (ISO/IEC 11172-3 §2.4.2.3, 13818-3): the 11-bit
/// sync word, then version, layer, bitrate, sample rate and padding, which give the frame's
/// length in bytes.
struct MPEGFrameHeader: Equatable {
    enum Version: Equatable { case mpeg1, mpeg2, mpeg25 }

    let version: Version
    /// 1, 2 or 3.
    let layer: Int
    /// Bits per second (free format, index 0, is not accepted: its length is not in the header).
    let bitrate: Int
    let sampleRate: Int
    let padding: Bool
    /// Followed by a 16-bit CRC.
    let protected: Bool
    /// Mono when 3.
    let channelMode: Int

    /// The header in `bytes` (4 bytes from the sync word), nil when they are none.
    init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count >= 4 else { return nil }
        let b = Array(bytes.prefix(4))
        guard b[0] == 0xFF, b[1] & 0xE0 == 0xE0 else { return nil }
        switch (b[1] >> 3) & 3 {
        case 3: version = .mpeg1
        case 2: version = .mpeg2
        case 0: version = .mpeg25
        default: return nil
        }
        let layerBits = Int((b[1] >> 1) & 3)
        guard layerBits != 0 else { return nil }
        layer = 4 - layerBits
        let bitrateIndex = Int(b[2] >> 4)
        let rateIndex = Int((b[2] >> 2) & 3)
        guard bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3 else { return nil }
        let table: [Int]
        switch (version, layer) {
        case (.mpeg1, 1): table = Self.kbpsMPEG1Layer1
        case (.mpeg1, 2): table = Self.kbpsMPEG1Layer2
        case (.mpeg1, _): table = Self.kbpsMPEG1Layer3
        case (_, 1): table = Self.kbpsMPEG2Layer1
        default: table = Self.kbpsMPEG2Layers2And3
        }
        bitrate = table[bitrateIndex] * 1000
        let rates = [44_100, 48_000, 32_000][rateIndex]
        sampleRate = version == .mpeg1 ? rates : version == .mpeg2 ? rates / 2 : rates / 4
        padding = b[2] & 2 != 0
        protected = b[1] & 1 == 0
        channelMode = Int(b[3] >> 6)
    }

    /// Bytes in the frame, header included.
    var length: Int {
        let slot = padding ? 1 : 0
        switch (version, layer) {
        case (_, 1): return (12 * bitrate / sampleRate + slot) * 4
        case (.mpeg1, _), (_, 2): return 144 * bitrate / sampleRate + slot
        default: return 72 * bitrate / sampleRate + slot
        }
    }

    /// Frames per channel the frame decodes to.
    var samplesPerFrame: Int { layer == 1 ? 384 : layer == 2 || version == .mpeg1 ? 1152 : 576 }

    /// Layer III side information, after the header and the CRC: where a Xing tag starts.
    var sideInformationLength: Int {
        let mono = channelMode == 3
        return version == .mpeg1 ? (mono ? 17 : 32) : (mono ? 9 : 17)
    }

    /// Whether `other` can be the next frame of the same stream: version, layer and rate stay.
    func continues(_ other: MPEGFrameHeader) -> Bool {
        version == other.version && layer == other.layer && sampleRate == other.sampleRate
    }

    private static let kbpsMPEG1Layer1 = [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448]
    private static let kbpsMPEG1Layer2 = [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384]
    private static let kbpsMPEG1Layer3 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    private static let kbpsMPEG2Layer1 = [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256]
    private static let kbpsMPEG2Layers2And3 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
}

/// An MPEG audio file walked frame by frame from its first frame sync, each frame's length taken
/// from its header: how many frames it holds and how it ends. libsndfile's frame count for an MP3
/// without a Xing or VBRI header is an estimate from the file's size and first bitrate (tags
/// counted as audio, a variable bitrate ignored), so it can neither tell a cut file nor bound
/// the decoding; this can.
struct MPEGStream: Equatable {
    enum Ending: Equatable {
        /// The last frame ends at the end of the file, or before tags (ID3v1, APE, Lyrics3,
        /// an appended ID3v2) or zero padding.
        case complete
        /// The file ends `missing` bytes short of the end of its last frame.
        case cutFrame(missing: Int)
        /// The frames stop `remaining` bytes before the end, at bytes that are no frame and no tag.
        case unknownBytes(remaining: Int)
    }

    let first: MPEGFrameHeader
    /// Where the first frame starts (after any ID3v2 tag).
    let audioStart: Int
    /// Whole audio frames, a Xing, Info or VBRI frame not counted.
    let frames: Int
    /// Samples per channel the frames decode to (before any gapless trimming).
    var samples: Int { frames * first.samplesPerFrame }
    /// What the Xing, Info or VBRI frame says the stream holds, where there is one.
    let announcedFrames: Int?
    let ending: Ending

    /// Frames found back to back needed at the start or after a resync, so that bytes that
    /// happen to look like a frame header are not taken for one.
    private static let confirmingFrames = 2

    /// Walks `source`; nil when no MPEG audio frame is found.
    init?(_ source: ByteSource) {
        var cursor = ByteCursor(source)
        let end = source.count
        var offset = Self.skipID3v2(&cursor)
        guard let start = Self.nextFrame(from: offset, in: &cursor),
            let first = MPEGFrameHeader(cursor.bytes(at: start, count: 4))
        else { return nil }
        self.first = first
        audioStart = start
        announcedFrames = Self.announcedFrames(in: &cursor, at: start, header: first)
        offset = start + (announcedFrames == nil ? 0 : first.length)
        var frames = 0
        var ending = Ending.complete
        while offset < end {
            if let header = MPEGFrameHeader(cursor.bytes(at: offset, count: 4)), header.continues(first) {
                guard offset + header.length <= end else {
                    ending = .cutFrame(missing: offset + header.length - end)
                    break
                }
                frames += 1
                offset += header.length
                continue
            }
            // No frame here: a tag (files joined with `cat` have them in between), frames going on
            // after some junk (a decoder resyncs), or the end.
            if let tag = Self.tagLength(in: &cursor, at: offset) {
                offset += tag
                continue
            }
            if let next = Self.nextFrame(from: offset + 1, in: &cursor, like: first) {
                offset = next
                continue
            }
            if !Self.startsTrailer(in: &cursor, at: offset) && !cursor.isZeros(from: offset) {
                ending = .unknownBytes(remaining: end - offset)
            }
            break
        }
        self.frames = frames
        self.ending = ending
    }

    /// The offset after the ID3v2 tags at the start of the file (ID3v2.4 §3.1: "ID3", version,
    /// flags, a 28-bit syncsafe size, a footer when flag 0x10 is set).
    private static func skipID3v2(_ cursor: inout ByteCursor) -> Int {
        var offset = 0
        while let length = id3v2Length(in: &cursor, at: offset) { offset += length }
        return offset
    }

    /// The length of an ID3v2 tag at `offset`, header and footer included.
    private static func id3v2Length(in cursor: inout ByteCursor, at offset: Int) -> Int? {
        let tag = Array(cursor.bytes(at: offset, count: 10))
        guard tag.count == 10, tag.starts(with: "ID3".utf8), tag[6...9].allSatisfy({ $0 < 0x80 }) else { return nil }
        let size = tag[6...9].reduce(0) { $0 << 7 | Int($1) }
        return 10 + size + (tag[5] & 0x10 != 0 ? 10 : 0)
    }

    /// The length of an ID3v2 or ID3v1 ("TAG", 128 bytes) tag at `offset`.
    private static func tagLength(in cursor: inout ByteCursor, at offset: Int) -> Int? {
        if let length = id3v2Length(in: &cursor, at: offset) { return length }
        return cursor.bytes(at: offset, count: 3).elementsEqual("TAG".utf8) ? 128 : nil
    }

    /// The first offset from `offset` where `confirmingFrames` frames follow one another (the
    /// last may end at the end of the file), each continuing `like` when given.
    private static func nextFrame(from offset: Int, in cursor: inout ByteCursor, like: MPEGFrameHeader? = nil) -> Int? {
        var candidate = offset
        while candidate + 4 <= cursor.count {
            // Jump to the next 0xFF.
            let window = cursor.bytes(at: candidate, count: 1 << 12)
            guard let sync = window.firstIndex(of: 0xFF) else {
                candidate += max(1, window.count)
                continue
            }
            candidate += sync - window.startIndex
            if isConfirmed(at: candidate, in: &cursor, like: like) { return candidate }
            candidate += 1
        }
        return nil
    }

    private static func isConfirmed(at offset: Int, in cursor: inout ByteCursor, like: MPEGFrameHeader?) -> Bool {
        guard let first = MPEGFrameHeader(cursor.bytes(at: offset, count: 4)) else { return false }
        let reference = like ?? first
        guard first.continues(reference) else { return false }
        var position = offset
        for _ in 0..<confirmingFrames {
            guard let header = MPEGFrameHeader(cursor.bytes(at: position, count: 4)), header.continues(reference)
            else { return false }
            position += header.length
            if position >= cursor.count { return position == cursor.count }
        }
        return true
    }

    /// The frame count of a Xing or Info tag (LAME, ffmpeg) in a Layer III first frame, after
    /// its side information, or of a VBRI tag (Fraunhofer) 32 bytes after the header; nil when
    /// the first frame is audio.
    private static func announcedFrames(in cursor: inout ByteCursor, at offset: Int, header: MPEGFrameHeader) -> Int? {
        guard header.layer == 3 else { return nil }
        let frame = Array(cursor.bytes(at: offset, count: header.length))
        func bigEndian(_ at: Int) -> Int? {
            guard at >= 0, at + 4 <= frame.count else { return nil }
            return frame[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
        }
        func text(_ at: Int) -> String? {
            at + 4 <= frame.count ? String(decoding: frame[at..<(at + 4)], as: UTF8.self) : nil
        }
        let xing = 4 + (header.protected ? 2 : 0) + header.sideInformationLength
        if let tag = text(xing), tag == "Xing" || tag == "Info" {
            guard let flags = bigEndian(xing + 4) else { return 0 }
            return flags & 1 != 0 ? bigEndian(xing + 8) ?? 0 : 0
        }
        let vbri = 4 + 32
        if text(vbri) == "VBRI" { return bigEndian(vbri + 14) ?? 0 }
        return nil
    }

    /// Whether a tag that follows the audio of a complete file starts at `offset`: APEv2
    /// ("APETAGEX"), Lyrics3 ("LYRICSBEGIN"), or the start of an ID3 tag cut short.
    private static func startsTrailer(in cursor: inout ByteCursor, at offset: Int) -> Bool {
        let head = Array(cursor.bytes(at: offset, count: 11))
        return ["APETAGEX", "LYRICSBEGIN", "TAG", "ID3"].contains { head.starts(with: $0.utf8) }
    }

    /// What is wrong with the stream's end, for a warning; nil when it is complete.
    var damage: String? {
        switch ending {
        case .cutFrame(let missing):
            return
                "truncated: the file ends inside its last MPEG frame (\(missing) bytes short); transcribed what was readable"
        case .unknownBytes(let remaining):
            return
                "truncated: the MPEG frames stop \(remaining) bytes before the end of the file, at bytes that are no frame; transcribed what was readable"
        case .complete:
            // A Xing header counts the frames its encoder wrote: fewer here is a file cut at a frame's end.
            if let announced = announcedFrames, frames + 1 < announced {
                return
                    "truncated: the file holds \(frames) of the \(announced) MPEG frames its Xing header announces; transcribed what was readable"
            }
            return nil
        }
    }

    /// A Layer III frame that holds only an Info tag announcing `frames` (the layout LAME writes,
    /// ISO/IEC 11172-3 frame with zero side information): put before the first frame, it gives
    /// the decoder the frame count the file lacks. Same version, rate and channel mode as
    /// `first`, no CRC, the lowest bitrate whose frame holds the tag; nil for Layers I and II.
    static func infoFrame(like first: [UInt8], frames: Int) -> [UInt8]? {
        guard first.count >= 4, var header = MPEGFrameHeader(first), header.layer == 3 else { return nil }
        var bytes = Array(first.prefix(4))
        bytes[1] |= 1  // no CRC
        bytes[2] &= 0b0000_1100  // keep the rate; no padding, no private bit
        let xing = 4 + header.sideInformationLength
        let tagBytes = 12  // "Info", flags, frame count
        for index in 1..<15 {
            bytes[2] = bytes[2] & 0x0F | UInt8(index << 4)
            guard let candidate = MPEGFrameHeader(bytes) else { return nil }
            header = candidate
            if header.length >= xing + tagBytes { break }
        }
        guard header.length >= xing + tagBytes else { return nil }
        var frame = bytes + [UInt8](repeating: 0, count: header.length - 4)
        let count = UInt32(clamping: frames)
        let tag: [UInt8] =
            Array("Info".utf8) + [0, 0, 0, 1] + (0..<4).map { UInt8(truncatingIfNeeded: count >> (24 - 8 * $0)) }
        frame.replaceSubrange(xing..<(xing + tagBytes), with: tag)
        return frame
    }
}
