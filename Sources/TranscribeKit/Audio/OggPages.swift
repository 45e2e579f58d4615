/// The header of an Ogg page (RFC 3533 §6): "OggS", version 0, the header type (0x02 marks
/// the first page of a logical stream, BOS), granule position, serial number, sequence number,
/// CRC, and a segment table whose lacing values add up to the body's length.
struct OggPageHeader: Equatable {
    static let capture: [UInt8] = Array("OggS".utf8)
    /// Bytes before the segment table.
    static let fixedLength = 27
    /// The most a page can take: the fixed part, 255 lacing values of 255 bytes each.
    static let maximumLength = fixedLength + 255 + 255 * 255

    let headerType: UInt8
    let serialNumber: UInt32
    /// Header, segment table and body.
    let length: Int

    /// Begins a logical stream (BOS).
    var isFirstOfStream: Bool { headerType & 0x02 != 0 }

    /// The page header at the start of `bytes`; nil when they hold none or not all of it
    /// (`neededBytes` says how much that takes).
    init?(_ bytes: some Collection<UInt8>) {
        guard let needed = Self.neededBytes(bytes), bytes.count >= needed else { return nil }
        let b = Array(bytes.prefix(needed))
        headerType = b[5]
        serialNumber = b[14..<18].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        length = needed + b[Self.fixedLength...].reduce(0) { $0 + Int($1) }
    }

    /// Bytes the header at the start of `bytes` takes with its segment table: 27 when only its
    /// fixed part is there; nil when `bytes` do not start with a page (capture pattern, version 0).
    static func neededBytes(_ bytes: some Collection<UInt8>) -> Int? {
        let head = Array(bytes.prefix(fixedLength))
        guard head.starts(with: capture.prefix(head.count)), head.count < 5 || head[4] == 0 else { return nil }
        return head.count < fixedLength ? fixedLength : fixedLength + Int(head[26])
    }
}

/// Ogg files made of several streams one after another ("chained", RFC 3533 §4): internet radio
/// dumps, `cat a.ogg b.ogg`. libsndfile decodes the first stream only and reports its end as the
/// end of the file; each stream is handed to it on its own instead.
enum OggChain {
    /// The byte ranges of the chain's streams in `source`, in order; one range (the whole
    /// source) when it is not chained, or not Ogg. A stream starts at a BOS page that follows a
    /// page which is not one (the BOS pages of streams multiplexed together come first, side by
    /// side, RFC 3533 §4). Bytes between pages that are none stay with the stream before them.
    static func links(in source: ByteSource) -> [Range<Int>] {
        // Page headers only: the bodies between them are not read.
        var cursor = ByteCursor(source, windowBytes: OggPageHeader.fixedLength + 255)
        // Not Ogg: nothing to look for.
        guard OggPageHeader(cursor.bytes(at: 0, count: OggPageHeader.fixedLength + 255)) != nil else {
            return [0..<source.count]
        }
        var starts: [Int] = []
        var offset = 0
        var previousWasFirst = false
        while offset < source.count {
            let head = cursor.bytes(at: offset, count: OggPageHeader.fixedLength + 255)
            guard let page = OggPageHeader(head) else {
                guard let next = nextCapture(after: offset, in: &cursor) else { break }
                offset = next
                continue
            }
            if page.isFirstOfStream && !previousWasFirst { starts.append(offset) }
            previousWasFirst = page.isFirstOfStream
            offset += page.length
        }
        guard starts.first == 0, starts.count > 1 else { return [0..<source.count] }
        return zip(starts, starts.dropFirst() + [source.count]).map { $0..<$1 }
    }

    /// Where the next "OggS" after `offset` starts, as libogg looks for it after a damaged page.
    private static func nextCapture(after offset: Int, in cursor: inout ByteCursor) -> Int? {
        var position = offset + 1
        while position < cursor.count {
            let window = cursor.bytes(at: position, count: 1 << 16)
            if let found = firstCapture(in: window) { return position + (found - window.startIndex) }
            // A capture pattern may straddle the window's end.
            position += max(1, window.count - (OggPageHeader.capture.count - 1))
            if window.count < OggPageHeader.capture.count { return nil }
        }
        return nil
    }

    /// The index in `bytes` where "OggS" starts.
    static func firstCapture(in bytes: ArraySlice<UInt8>) -> Int? {
        let capture = OggPageHeader.capture
        var index = bytes.startIndex
        while index + capture.count <= bytes.endIndex {
            if bytes[index] == capture[0], bytes[index..<(index + capture.count)].elementsEqual(capture) {
                return index
            }
            index += 1
        }
        return nil
    }
}

/// Ogg bytes as they arrive from a pipe, cut into pieces for one chain link or the next: the
/// same boundaries as `OggChain.links`, found without seeing the whole stream.
struct OggChainSplitter: StreamFramer {
    private var pending: [UInt8] = []
    private var previousWasFirst = false
    private var seenPage = false

    /// The pieces `bytes` complete; a page is held back until it is whole.
    mutating func append(_ bytes: ArraySlice<UInt8>) -> [StreamPiece] {
        pending.append(contentsOf: bytes)
        var pieces: [StreamPiece] = []
        var consumed = 0
        while consumed < pending.count {
            let rest = pending[consumed...]
            guard let needed = OggPageHeader.neededBytes(rest) else {
                // Not a page: pass on the bytes up to the next capture pattern (or all but a
                // possible start of one).
                let next = OggChain.firstCapture(in: rest.dropFirst()) ?? max(consumed + 1, pending.count - 3)
                pieces.append(.bytes(Array(pending[consumed..<next])))
                consumed = next
                continue
            }
            guard rest.count >= needed, let page = OggPageHeader(rest), rest.count >= page.length else { break }
            if page.isFirstOfStream && !previousWasFirst && seenPage { pieces.append(.nextStream) }
            previousWasFirst = page.isFirstOfStream
            seenPage = true
            pieces.append(.bytes(Array(rest.prefix(page.length))))
            consumed += page.length
        }
        pending.removeFirst(consumed)
        return pieces
    }

    var notes: [String] { [] }

    /// What is held back at the end of the input (a page cut short), for the current stream.
    mutating func finish() -> [StreamPiece] {
        defer { pending = [] }
        return pending.isEmpty ? [] : [.bytes(pending)]
    }
}
