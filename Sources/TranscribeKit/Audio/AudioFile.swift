import CSndFile
import Foundation

/// An audio file opened for reading with libsndfile: WAV (8/16/24/32-bit PCM, float), FLAC,
/// Ogg Vorbis, Opus, MP3 and whatever else the installed libsndfile decodes.
///
/// Owns the `SNDFILE*` handle and closes it in `deinit`.
public final class AudioFile {
    public let path: String
    /// Frames per second as decoded. Opus decodes at the Opus rate (8, 12, 16, 24, 48 kHz) at or
    /// above the rate it was encoded from, so 44.1 kHz comes back as 48 kHz.
    public let sampleRate: Int
    public let channels: Int
    /// Frames per channel as the header claims (`Int64.max` when unknown); `readMono()` reads
    /// what the data holds, not this.
    public let frames: Int64
    /// libsndfile's names for container and encoding: "WAV (Microsoft), Signed 16 bit PCM".
    public let formatDescription: String
    /// Read from a pipe whose header gives a placeholder length (see `isPlaceholder`), so that
    /// ending before it is no sign of damage.
    let headerLengthIsPlaceholder: Bool

    private let handle: OpaquePointer
    /// The bytes behind a handle opened from memory; libsndfile reads them through `virtualIO`.
    private let memory: MemoryStream?

    /// Interleaved samples decoded per `sf_readf_float` call (512 KiB of Float).
    private static let chunkSamples = 1 << 17

    public convenience init(path: String) throws(AudioError) {
        try self.init(path: BytePath(path), name: path)
    }

    /// The file at `path`, named `name` in errors. The path is bytes (any name the kernel takes,
    /// UTF-8 or not, of any length it takes): the file is opened here and libsndfile gets the
    /// descriptor.
    public convenience init(path: BytePath, name: String) throws(AudioError) {
        // Without blocking, so that a named pipe with no writer reads as empty instead of
        // waiting forever.
        let descriptor = path.withCString { open($0, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
        guard descriptor >= 0 else {
            throw .cannotOpen(path: name, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .cannotOpen(path: name, reason: String(cString: strerror(errno)))
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR:
            throw .cannotOpen(path: name, reason: "is a directory")
        case S_IFREG:
            guard status.st_size > 0 else { throw .cannotOpen(path: name, reason: "file is empty") }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
            // libsndfile reads and closes its own copy of the descriptor.
            let copy = dup(descriptor)
            guard copy >= 0 else { throw .cannotOpen(path: name, reason: String(cString: strerror(errno))) }
            try self.init(name: name, memory: nil, isStream: false) { info in
                sf_open_fd(copy, Int32(SFM_READ), &info, 1)
            }
        default:
            // A named pipe or device.
            try self.init(descriptor: descriptor, name: name)
        }
    }

    /// Audio arriving on `descriptor` (standard input, a pipe, a device), which stays open for the
    /// caller to close; `name` stands for the path in errors. A pipe carrying WAV, AIFF, AU or Ogg is
    /// decoded as it arrives; anything else is read into memory first, at most `memoryLimit`
    /// bytes (see `StreamInput`).
    public convenience init(
        descriptor: Int32, name: String, memoryLimit: Int = StreamInput.memoryLimit
    ) throws(AudioError) {
        switch try StreamInput.plan(descriptor: descriptor, name: name, memoryLimit: memoryLimit) {
        case .memory(let data):
            try self.init(data: data, name: name)
        case .descriptor:
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
            // libsndfile reads and closes its own copy of the descriptor.
            let copy = dup(descriptor)
            guard copy >= 0 else { throw .cannotOpen(path: name, reason: String(cString: strerror(errno))) }
            try self.init(name: name, memory: nil, isStream: true) { info in sf_open_fd(copy, Int32(SFM_READ), &info, 1)
            }
        }
    }

    /// Opens audio held in memory (read from standard input, say); `name` stands for the path
    /// in errors. Every format works, also those that need to seek.
    public convenience init(data: Data, name: String) throws(AudioError) {
        guard !data.isEmpty else { throw .cannotOpen(path: name, reason: "no data") }
        let stream = MemoryStream(data)
        try self.init(name: name, memory: stream, isStream: false) { info in
            sf_open_virtual(
                &MemoryStream.virtualIO, Int32(SFM_READ), &info, Unmanaged.passUnretained(stream).toOpaque())
        }
    }

    /// Opens through `open` and checks the layout the header describes. libsndfile keeps the
    /// reason an open failed in one process-wide variable, so opening and reading that reason
    /// happen under one lock.
    private init(
        name: String, memory: MemoryStream?, isStream: Bool, open: (inout SF_INFO) -> OpaquePointer?
    ) throws(AudioError) {
        var info = SF_INFO()
        Self.openLock.lock()
        let opened = open(&info)
        let failure = opened == nil ? Self.message(sf_strerror(nil)) : ""
        Self.openLock.unlock()
        guard let handle = opened else { throw .cannotOpen(path: name, reason: failure) }
        guard info.channels > 0, info.samplerate > 0 else {
            sf_close(handle)
            throw .unsupportedLayout(path: name, reason: "\(info.channels) channels at \(info.samplerate) Hz")
        }
        self.path = name
        self.handle = handle
        self.memory = memory
        sampleRate = Int(info.samplerate)
        channels = Int(info.channels)
        frames = info.frames
        formatDescription = Self.describe(format: info.format)
        headerLengthIsPlaceholder =
            isStream && Self.isPlaceholder(frames: info.frames, channels: info.channels, format: info.format)
    }

    /// A header written before its writer knew the length, as a writer into a pipe must: a data
    /// size of about 2 or 4 GiB (sox writes 0x7FFFF000, ffmpeg 0xFFFFFFFF). Only for a stream,
    /// where libsndfile cannot compare it with the file's size.
    private static func isPlaceholder(frames: sf_count_t, channels: Int32, format: Int32) -> Bool {
        let width: Int64
        switch format & Int32(SF_FORMAT_SUBMASK) {
        case Int32(SF_FORMAT_PCM_S8), Int32(SF_FORMAT_PCM_U8), Int32(SF_FORMAT_ULAW), Int32(SF_FORMAT_ALAW): width = 1
        case Int32(SF_FORMAT_PCM_16): width = 2
        case Int32(SF_FORMAT_PCM_24): width = 3
        case Int32(SF_FORMAT_PCM_32), Int32(SF_FORMAT_FLOAT): width = 4
        case Int32(SF_FORMAT_DOUBLE): width = 8
        default: return true  // compressed: a stream's length is not in its header
        }
        let (bytes, overflow) = frames.multipliedReportingOverflow(by: width * Int64(channels))
        return overflow || bytes >= 0x7FFF_0000
    }

    /// libsndfile's reason when `data` is in no format it knows; nil when it opens (or fails for
    /// another reason: a known format, damaged or cut short).
    static func unrecognisedFormat(_ data: Data) -> String? {
        let stream = MemoryStream(data)
        var info = SF_INFO()
        openLock.lock()
        defer { openLock.unlock() }
        guard
            let handle = sf_open_virtual(
                &MemoryStream.virtualIO, Int32(SFM_READ), &info, Unmanaged.passUnretained(stream).toOpaque())
        else {
            return sf_error(nil) == SF_ERR_UNRECOGNISED_FORMAT ? message(sf_strerror(nil)) : nil
        }
        sf_close(handle)
        return nil
    }

    deinit {
        sf_close(handle)
    }

    /// libsndfile's notes from parsing the header (SFC_GET_LOG_INFO).
    var headerLog: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = sf_command(handle, Int32(SFC_GET_LOG_INFO), &buffer, Int32(buffer.count))
        return length > 0
            ? String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }

    /// All remaining frames, channels averaged: (frames,) in [-1, 1] for integer formats.
    /// Float files are returned as stored, NaN and infinities included.
    public func readMono() throws(AudioError) -> [Float] {
        var mono: [Float] = []
        while true {
            let block = try readMono(maxFrames: max(1, Self.chunkSamples / channels))
            if block.isEmpty { return mono }
            mono.append(contentsOf: block)
        }
    }

    /// Up to `maxFrames` of the next frames, channels averaged; empty at the end of the data.
    public func readMono(maxFrames: Int) throws(AudioError) -> [Float] {
        var interleaved = [Float](repeating: 0, count: maxFrames * channels)
        let read = interleaved.withUnsafeMutableBufferPointer {
            sf_readf_float(handle, $0.baseAddress, sf_count_t(maxFrames))
        }
        if read <= 0 && sf_error(handle) != SF_ERR_NO_ERROR {
            throw .readFailed(path: path, reason: Self.message(sf_strerror(handle)))
        }
        var mono: [Float] = []
        mono.reserveCapacity(max(0, Int(read)))
        appendMixdown(of: interleaved[..<(max(0, Int(read)) * channels)], to: &mono)
        return mono
    }

    /// (frames * channels,) interleaved -> (frames,) appended to `mono`.
    private func appendMixdown(of interleaved: ArraySlice<Float>, to mono: inout [Float]) {
        guard channels > 1 else {
            mono.append(contentsOf: interleaved)
            return
        }
        let scale = 1 / Float(channels)
        var frameStart = interleaved.startIndex
        while frameStart < interleaved.endIndex {
            var sum: Float = 0
            for sample in interleaved[frameStart..<(frameStart + channels)] { sum += sample }
            mono.append(sum * scale)
            frameStart += channels
        }
    }

    private static let openLock = NSLock()

    private static func describe(format: Int32) -> String {
        let parts = [Int32(SF_FORMAT_TYPEMASK), Int32(SF_FORMAT_SUBMASK)].compactMap { mask in
            var info = SF_FORMAT_INFO()
            info.format = format & mask
            let size = Int32(MemoryLayout<SF_FORMAT_INFO>.size)
            guard sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &info, size) == 0,
                let name = info.name
            else { return nil as String? }
            return String(cString: name)
        }
        return parts.isEmpty ? "unknown format" : parts.joined(separator: ", ")
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown error" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Bytes in memory behind libsndfile's virtual I/O callbacks.
private final class MemoryStream {
    let bytes: Data
    var position = 0

    /// Holds `data` as given (a contiguous, zero-based copy when it is a slice).
    init(_ data: Data) { bytes = data.startIndex == 0 ? data : Data(data) }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> MemoryStream {
        Unmanaged<MemoryStream>.fromOpaque(pointer!).takeUnretainedValue()
    }

    nonisolated(unsafe) static var virtualIO = SF_VIRTUAL_IO(
        get_filelen: { user in sf_count_t(MemoryStream.from(user).bytes.count) },
        seek: { offset, whence, user in
            let stream = MemoryStream.from(user)
            let base: Int
            switch whence {
            case SEEK_CUR: base = stream.position
            case SEEK_END: base = stream.bytes.count
            default: base = 0
            }
            let target = base + Int(offset)
            guard target >= 0 else { return -1 }
            stream.position = target
            return sf_count_t(target)
        },
        read: { destination, count, user in
            let stream = MemoryStream.from(user)
            let available = max(0, min(Int(count), stream.bytes.count - stream.position))
            guard available > 0, let destination else { return 0 }
            stream.bytes.withUnsafeBytes { source in
                destination.copyMemory(from: source.baseAddress! + stream.position, byteCount: available)
            }
            stream.position += available
            return sf_count_t(available)
        },
        write: { _, _, _ in 0 },
        tell: { user in sf_count_t(MemoryStream.from(user).position) })
}
