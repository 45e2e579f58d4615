import Foundation

/// Bytes that can be read at any offset: a regular file, memory, or pieces of those. libsndfile
/// reads them through its virtual I/O (see `SoundFile`), so that an input can be handed to it
/// in parts (one stream of an Ogg chain) or with a header put right, without touching the file.
protocol ByteSource: AnyObject {
    var count: Int { get }
    /// Copies the bytes from `offset` into `buffer`: as many as fit and exist (0 at the end).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int
}

extension ByteSource {
    /// The bytes of `range`, cut to the bytes there are.
    func bytes(_ range: Range<Int>) -> [UInt8] {
        let range = range.clamped(to: 0..<count)
        guard !range.isEmpty else { return [] }
        var bytes = [UInt8](repeating: 0, count: range.count)
        var filled = 0
        while filled < bytes.count {
            let read = bytes.withUnsafeMutableBytes {
                self.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: range.lowerBound + filled)
            }
            if read <= 0 { break }
            filled += read
        }
        return Array(bytes.prefix(filled))
    }

    /// `range` of these bytes, as a source of its own.
    func slice(_ range: Range<Int>) -> ByteSource {
        range == 0..<count ? self : SplicedBytes([.range(self, range.clamped(to: 0..<count))])
    }
}

/// A regular file, read with pread(2) from the offset it had when it was opened (standard input
/// redirected from a file part-way read); the descriptor is closed in `deinit`.
final class FileBytes: ByteSource {
    let count: Int
    private let descriptor: Int32
    private let base: Int

    /// Takes `descriptor`, which must be a regular file.
    init(descriptor: Int32) {
        var status = stat()
        let size = fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
        let position = lseek(descriptor, 0, SEEK_CUR)
        self.descriptor = descriptor
        base = position > 0 ? min(Int(position), size) : 0
        count = size - base
    }

    deinit { close(descriptor) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let wanted = min(buffer.count, count - offset)
        guard offset >= 0, wanted > 0 else { return 0 }
        while true {
            let read = pread(descriptor, buffer.baseAddress, wanted, off_t(base + offset))
            if read < 0 && errno == EINTR { continue }
            return max(0, read)
        }
    }
}

/// Bytes held in memory (standard input read whole).
final class MemoryBytes: ByteSource {
    let data: Data

    /// Holds `data` as given (a contiguous, zero-based copy when it is a slice).
    init(_ data: Data) { self.data = data.startIndex == 0 ? data : Data(data) }

    var count: Int { data.count }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let available = min(buffer.count, data.count - offset)
        guard offset >= 0, available > 0, let destination = buffer.baseAddress else { return 0 }
        data.withUnsafeBytes { source in
            destination.copyMemory(from: source.baseAddress! + offset, byteCount: available)
        }
        return available
    }
}

/// Pieces one after another: ranges of other sources and bytes of its own (a header put right,
/// a frame put in).
final class SplicedBytes: ByteSource {
    enum Piece {
        case range(ByteSource, Range<Int>)
        case bytes([UInt8])

        var count: Int {
            switch self {
            case .range(_, let range): range.count
            case .bytes(let bytes): bytes.count
            }
        }
    }

    let count: Int
    private let pieces: [Piece]
    /// Where each piece starts.
    private let starts: [Int]

    init(_ pieces: [Piece]) {
        self.pieces = pieces.filter { $0.count > 0 }
        var starts: [Int] = []
        var total = 0
        for piece in self.pieces {
            starts.append(total)
            total += piece.count
        }
        self.starts = starts
        count = total
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        guard offset >= 0, offset < count, buffer.count > 0 else { return 0 }
        // The last piece starting at or before `offset`.
        var low = 0
        var high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        var filled = 0
        var index = low
        while filled < buffer.count, index < pieces.count {
            let within = offset + filled - starts[index]
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])
            let read: Int
            switch pieces[index] {
            case .range(let source, let range):
                let wanted = min(target.count, range.count - within)
                read = source.read(
                    into: UnsafeMutableRawBufferPointer(rebasing: target[..<wanted]), at: range.lowerBound + within)
            case .bytes(let bytes):
                read = min(target.count, bytes.count - within)
                bytes.withUnsafeBytes {
                    target.baseAddress!.copyMemory(from: $0.baseAddress! + within, byteCount: read)
                }
            }
            if read <= 0 { break }
            filled += read
            if within + read >= pieces[index].count { index += 1 }
        }
        return filled
    }
}

/// Reads a source front to back a window at a time, for the parsers that walk a file's
/// structure (Ogg pages, MPEG frames, RIFF chunks) without a system call per field.
struct ByteCursor {
    let source: ByteSource
    private var window: [UInt8] = []
    private var windowStart = 0
    /// Bytes read at a time at least; a parser that skips most bytes (from one Ogg page header to
    /// the next) reads less.
    private let windowBytes: Int
    private static let lookBehind = 1 << 13

    init(_ source: ByteSource, windowBytes: Int = 1 << 16) {
        self.source = source
        self.windowBytes = windowBytes
    }

    var count: Int { source.count }

    /// The bytes of `offset..<offset + length`, fewer where the source ends. The slice's indices
    /// are the window's, not offsets in the source.
    mutating func bytes(at offset: Int, count length: Int) -> ArraySlice<UInt8> {
        guard offset >= 0, offset < source.count, length > 0 else { return [] }
        let length = min(length, source.count - offset)
        if offset < windowStart || offset + length > windowStart + window.count {
            // A little before `offset` too: the parsers look ahead and come back.
            windowStart = max(0, offset - min(Self.lookBehind, windowBytes))
            window = source.bytes(windowStart..<(offset + max(length, windowBytes)))
        }
        let start = offset - windowStart
        return window[min(start, window.count)..<min(start + length, window.count)]
    }

    mutating func byte(at offset: Int) -> UInt8? { bytes(at: offset, count: 1).first }

    /// Whether the bytes from `offset` to the end are zeros (padding).
    mutating func isZeros(from offset: Int) -> Bool {
        var position = offset
        while position < count {
            let window = bytes(at: position, count: 1 << 16)
            guard !window.isEmpty, window.allSatisfy({ $0 == 0 }) else { return window.isEmpty }
            position += window.count
        }
        return true
    }
}
