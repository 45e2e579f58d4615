/// The chunks of a RIFF WAVE header up to the `data` chunk (RIFF, RIFX big-endian, RF64 with
/// its `ds64` chunk, EBU Tech 3306): where the samples start and how many bytes the header
/// says they take. A writer that is stopped before it closes the file (a recorder killed
/// mid-write) leaves the sizes it wrote first, often 0; libsndfile then reads that many bytes
/// (none), not the audio the file holds.
struct WAVHeader: Equatable {
    let bigEndian: Bool
    let isRF64: Bool
    /// Where the RIFF size, and for RF64 the 64-bit RIFF and data sizes in `ds64`, are.
    let riffSizeOffset: Int
    let ds64Offset: Int?
    /// The bytes of the `fmt ` chunk, its id and size included.
    let formatChunk: [UInt8]
    /// Bytes per frame (`nBlockAlign`); at least 1.
    let blockAlign: Int
    /// Where the samples start: right after the `data` chunk's id and size.
    let dataOffset: Int
    /// The data size the header gives.
    let dataSize: UInt64

    /// Bytes after the data that are taken for audio at least: fewer are a chunk cut short or padding.
    static let minimumAudio: UInt64 = 8

    /// Bytes a header takes at most before its data chunk, for a pipe: beyond this the stream is
    /// passed on as it is.
    static let maximumLength = 1 << 20

    /// The header at the start of `bytes`; nil when they hold no RIFF WAVE header, or not all of
    /// it up to the data chunk's size.
    init?(_ bytes: some Collection<UInt8>) {
        let b = Array(bytes.prefix(Self.maximumLength))
        guard let form = Self.form(of: b) else { return nil }
        (bigEndian, isRF64) = form
        riffSizeOffset = 4
        var offset = 12
        var formatChunk: [UInt8] = []
        var ds64Offset: Int?
        var ds64DataSize: UInt64?
        while offset + 8 <= b.count {
            let id = String(decoding: b[offset..<(offset + 4)], as: UTF8.self)
            let size = Self.integer(b, at: offset + 4, bytes: 4, bigEndian: bigEndian)
            if id == "data" {
                dataOffset = offset + 8
                dataSize = isRF64 && size == 0xFFFF_FFFF ? ds64DataSize ?? size : size
                self.ds64Offset = ds64Offset
                guard formatChunk.count >= 8 + 14 else { return nil }
                let align = Self.integer(formatChunk, at: 8 + 12, bytes: 2, bigEndian: bigEndian)
                blockAlign = max(1, Int(align))
                self.formatChunk = formatChunk
                return
            }
            let body = offset + 8
            let end = body + Int(size) + Int(size & 1)
            if id == "fmt " { formatChunk = Array(b[offset..<min(b.count, body + Int(size))]) }
            if id == "ds64", isRF64, body + 16 <= b.count {
                ds64Offset = body
                ds64DataSize = Self.integer(b, at: body + 8, bytes: 8, bigEndian: false)
            }
            guard size < 0xFFFF_FFFF, end > offset else { return nil }
            offset = end
        }
        return nil
    }

    /// The RIFF form `bytes` start with: RIFF or RIFX, or RF64 (and BW64, the same layout), of
    /// WAVE; nil for anything else.
    static func form(of bytes: [UInt8]) -> (bigEndian: Bool, isRF64: Bool)? {
        guard bytes.count >= 12, bytes[8..<12].elementsEqual("WAVE".utf8) else { return nil }
        switch String(decoding: bytes[0..<4], as: UTF8.self) {
        case "RIFF": return (false, false)
        case "RIFX": return (true, false)
        case "RF64", "BW64": return (false, true)
        default: return nil
        }
    }

    /// How `source` must change for its data size to cover the audio the file holds; nil when it
    /// need not (the header's size is right, claims more than the file has, which libsndfile
    /// handles, or is followed by the chunks that come after audio).
    static func repair(of source: ByteSource) -> Repair? {
        // Most headers fit the first 64 KiB; a long LIST or bext chunk may need more.
        let start = source.bytes(0..<(1 << 16))
        guard Self.form(of: start) != nil,
            let header = WAVHeader(start) ?? WAVHeader(source.bytes(0..<maximumLength)),
            !header.isRF64 || header.ds64Offset != nil, header.dataOffset <= source.count
        else { return nil }
        let available = UInt64(source.count - header.dataOffset)
        // Audio is at least a chunk header's worth of bytes and one whole frame more.
        let align = UInt64(header.blockAlign)
        let whole = available - available % align
        guard header.dataSize < available, available - header.dataSize >= minimumAudio,
            whole / align > header.dataSize / align
        else { return nil }
        let dataEnd = header.dataOffset + Int(header.dataSize)
        var cursor = ByteCursor(source)
        if followedByChunks(in: &cursor, from: dataEnd + Int(header.dataSize & 1), bigEndian: header.bigEndian)
            || cursor.isZeros(from: dataEnd)
        {
            return nil
        }
        return Repair(header: header, dataSize: whole, fileSize: source.count)
    }

    /// What follows `offset` is chunks, back to back to the end of the file (ids of four
    /// printable characters, sizes that fit; the last one's pad byte may be missing).
    private static func followedByChunks(in cursor: inout ByteCursor, from offset: Int, bigEndian: Bool) -> Bool {
        var position = offset
        while position < cursor.count {
            let head = Array(cursor.bytes(at: position, count: 8))
            guard head.count == 8, isChunkID(head[0..<4]) else { return false }
            let size = Int(integer(head, at: 4, bytes: 4, bigEndian: bigEndian))
            guard position + 8 + size <= cursor.count else { return false }
            position += 8 + size + (size & 1)
        }
        return true
    }

    /// Four printable ASCII characters, as every chunk id is (LIST, id3 , JUNK, smpl, ...).
    static func isChunkID(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count == 4 && bytes.allSatisfy { (0x20...0x7E).contains($0) }
    }

    /// The data size a file's header is given: the whole frames of audio after it (a pipe's is
    /// put right as it passes, by `WAVStreamRepair`).
    struct Repair: Equatable {
        let header: WAVHeader
        /// The size to put in; the header's own is `header.dataSize`.
        let dataSize: UInt64
        let fileSize: Int

        /// The header's bytes (`0..<header.dataOffset`) with the data size, and the RIFF size
        /// that covers it, put in.
        func patched(_ original: [UInt8]) -> [UInt8] {
            var bytes = original
            let riffSize = UInt64(max(0, fileSize - 8))
            if header.isRF64, let ds64 = header.ds64Offset {
                WAVHeader.put(riffSize, into: &bytes, at: ds64, bytes: 8, bigEndian: false)
                WAVHeader.put(dataSize, into: &bytes, at: ds64 + 8, bytes: 8, bigEndian: false)
            } else if !header.isRF64 {
                let clamp = { (size: UInt64) in min(size, 0xFFFF_FFFF) }
                WAVHeader.put(
                    clamp(riffSize), into: &bytes, at: header.riffSizeOffset, bytes: 4, bigEndian: header.bigEndian)
                WAVHeader.put(
                    clamp(dataSize), into: &bytes, at: header.dataOffset - 4, bytes: 4, bigEndian: header.bigEndian)
            }
            return bytes
        }

        /// `source` with the patched header in front of its samples.
        func applied(to source: ByteSource) -> ByteSource {
            SplicedBytes([
                .bytes(patched(source.bytes(0..<header.dataOffset))),
                .range(source, header.dataOffset..<source.count),
            ])
        }

        var note: String { WAVHeader.unfinishedNote(claimed: header.dataSize, found: dataSize) }
    }

    /// The warning for a header whose data size was `claimed` bytes where `found` followed.
    static func unfinishedNote(claimed: UInt64, found: UInt64) -> String {
        "unfinished header: its data size is \(claimed) bytes, but \(found) bytes of audio follow it; transcribed them all"
    }

    /// A header for audio in this format whose length is not known: this header's RIFF form and
    /// `fmt ` chunk and a placeholder data size (for the rest of a pipe, see `PipeRelay`).
    var placeholderHeader: [UInt8] {
        var bytes = Array((bigEndian ? "RIFX" : "RIFF").utf8) + [0xFF, 0xFF, 0xFF, 0xFF] + Array("WAVE".utf8)
        bytes += formatChunk
        if formatChunk.count & 1 == 1 { bytes.append(0) }
        return bytes + Array("data".utf8) + [0xFF, 0xFF, 0xFF, 0xFF]
    }

    static func integer(_ bytes: [UInt8], at offset: Int, bytes count: Int, bigEndian: Bool) -> UInt64 {
        guard offset >= 0, offset + count <= bytes.count else { return 0 }
        let field = bytes[offset..<(offset + count)]
        return (bigEndian ? Array(field) : field.reversed()).reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func put(_ value: UInt64, into bytes: inout [UInt8], at offset: Int, bytes count: Int, bigEndian: Bool) {
        guard offset >= 0, offset + count <= bytes.count else { return }
        for index in 0..<count {
            let shift = 8 * (bigEndian ? count - 1 - index : index)
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(shift))
        }
    }
}

/// A WAV stream from a pipe put right as it passes (see `PipeRelay`): a data size of 0 with
/// audio after it becomes the placeholder 0xFFFFFFFF, which libsndfile reads to the end of the
/// pipe; audio that goes on after the data size the header gives becomes a stream of its own,
/// behind a header with the same format. What follows the data is taken for audio unless it
/// looks like a chunk (four printable characters, a size under 256 MiB) or zeros.
struct WAVStreamRepair: StreamFramer {
    private enum Phase {
        /// Collecting the header.
        case header
        /// Passing on the data the header announces; `remaining` bytes up to the last whole frame.
        case data(remaining: UInt64)
        /// Holding what follows the last whole frame until it shows whether audio goes on.
        case after
        /// Passing on everything; `counting` the audio bytes behind a repaired header.
        case passThrough(counting: Bool)
    }

    private var phase = Phase.header
    private var pending: [UInt8] = []
    private var header: WAVHeader?
    /// Audio bytes after the header, once it is found to be unfinished.
    private var recovered: UInt64 = 0
    private(set) var notes: [String] = []

    /// Chunk sizes up to this are taken for a chunk after the data; random audio bytes rarely are.
    private static let largestChunk: UInt64 = 1 << 28

    mutating func append(_ bytes: ArraySlice<UInt8>) -> [StreamPiece] {
        switch phase {
        case .passThrough(let counting):
            if counting { recovered += UInt64(bytes.count) }
            return [.bytes(Array(bytes))]
        case .data(let remaining):
            let passed = Int(min(UInt64(bytes.count), remaining))
            phase = remaining == UInt64(passed) ? .after : .data(remaining: remaining - UInt64(passed))
            let rest = bytes.dropFirst(passed)
            return [.bytes(Array(bytes.prefix(passed)))] + (rest.isEmpty ? [] : append(rest))
        case .header, .after:
            pending.append(contentsOf: bytes)
            return advance(atEnd: false)
        }
    }

    mutating func finish() -> [StreamPiece] {
        let pieces = advance(atEnd: true)
        if recovered > 0, let header {
            notes.append(WAVHeader.unfinishedNote(claimed: header.dataSize, found: recovered))
        }
        return pieces + (pending.isEmpty ? [] : [.bytes(pending)])
    }

    /// Decides what `pending` is, once enough of it is there (or the stream has ended).
    private mutating func advance(atEnd: Bool) -> [StreamPiece] {
        switch phase {
        case .header:
            guard let header = WAVHeader(pending) else {
                let undecided = pending.count < WAVHeader.maximumLength && Self.mayBeRIFF(pending) && !atEnd
                return undecided ? [] : passAll()
            }
            self.header = header
            let isPlaceholder = header.dataSize >= 0x7FFF_0000
            guard !header.isRF64, !isPlaceholder else { return passAll() }
            if header.dataSize == 0 {
                // Nothing announced: audio if what follows is not a chunk.
                let following = pending.dropFirst(header.dataOffset)
                guard following.count >= 8 || atEnd else { return [] }
                guard following.count >= WAVHeader.minimumAudio,
                    !Self.looksLikeChunk(following, bigEndian: header.bigEndian)
                else {
                    return passAll()
                }
                var patched = Array(pending.prefix(header.dataOffset))
                let full: UInt64 = 0xFFFF_FFFF
                WAVHeader.put(full, into: &patched, at: header.riffSizeOffset, bytes: 4, bigEndian: header.bigEndian)
                WAVHeader.put(full, into: &patched, at: header.dataOffset - 4, bytes: 4, bigEndian: header.bigEndian)
                recovered = UInt64(following.count)
                phase = .passThrough(counting: true)
                defer { pending = [] }
                return [.bytes(patched + following)]
            }
            let whole = header.dataSize - header.dataSize % UInt64(header.blockAlign)
            let start = Array(pending.prefix(header.dataOffset))
            let rest = pending.dropFirst(header.dataOffset)
            pending = []
            phase = whole == 0 ? .after : .data(remaining: whole)
            return [.bytes(start)] + (rest.isEmpty ? [] : append(rest))
        case .after:
            guard let header else { return passAll() }
            // `pending` starts after the last whole frame; a chunk would start after the data and its pad byte.
            let partial = Int(header.dataSize % UInt64(header.blockAlign))
            let chunkStart = partial + Int(header.dataSize & 1)
            guard pending.count >= chunkStart + 8 || atEnd else { return [] }
            let following = pending.dropFirst(chunkStart)
            if following.count < WAVHeader.minimumAudio || Self.looksLikeChunk(following, bigEndian: header.bigEndian) {
                return passAll()
            }
            // Audio goes on past the data size: a stream of its own, behind a header of the same format.
            recovered = header.dataSize - UInt64(partial) + UInt64(pending.count)
            phase = .passThrough(counting: true)
            defer { pending = [] }
            return [.nextStream, .bytes(header.placeholderHeader + pending)]
        case .data, .passThrough:
            return []
        }
    }

    private mutating func passAll() -> [StreamPiece] {
        phase = .passThrough(counting: false)
        defer { pending = [] }
        return pending.isEmpty ? [] : [.bytes(pending)]
    }

    /// Whether `bytes` may still become a RIFF WAVE header as more arrive.
    private static func mayBeRIFF(_ bytes: [UInt8]) -> Bool {
        let forms = ["RIFF", "RIFX", "RF64", "BW64"].map { Array($0.utf8) }
        let form = Array(bytes.prefix(4))
        let wave = Array(bytes.dropFirst(8).prefix(4))
        return forms.contains { $0.starts(with: form) } && Array("WAVE".utf8).starts(with: wave)
    }

    /// A chunk header (id, size) or zeros at the start of `bytes` (at least 8 of them, or all there are).
    private static func looksLikeChunk(_ bytes: ArraySlice<UInt8>, bigEndian: Bool) -> Bool {
        let head = Array(bytes.prefix(8))
        if head.allSatisfy({ $0 == 0 }) { return true }
        guard head.count == 8, WAVHeader.isChunkID(head[0..<4]) else { return false }
        return WAVHeader.integer(head, at: 4, bytes: 4, bigEndian: bigEndian) < largestChunk
    }
}
