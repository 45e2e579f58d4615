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

    private let handle: OpaquePointer
    /// The bytes behind a handle opened from memory; libsndfile reads them through `virtualIO`.
    private let memory: MemoryStream?

    /// Interleaved samples decoded per `sf_readf_float` call (512 KiB of Float).
    private static let chunkSamples = 1 << 17

    public convenience init(path: String) throws(AudioError) {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw .cannotOpen(path: path, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR:
            throw .cannotOpen(path: path, reason: "is a directory")
        case S_IFREG:
            guard status.st_size > 0 else { throw .cannotOpen(path: path, reason: "file is empty") }
            try self.init(name: path, memory: nil) { info in sf_open(path, Int32(SFM_READ), &info) }
        default:
            // A named pipe or device: read what it holds, then decode from memory.
            try self.init(data: Self.readStream(path), name: path)
        }
    }

    /// The most a pipe or device is read for one input.
    static let streamLimit = 2 << 30

    /// Everything a named pipe or device holds, up to `streamLimit` bytes. Opened without
    /// blocking, so a pipe with no writer reads as empty instead of waiting forever.
    private static func readStream(_ path: String) throws(AudioError) -> Data {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        var data = Data()
        var block = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .readFailed(path: path, reason: String(cString: strerror(errno))) }
            if count == 0 { return data }
            data.append(contentsOf: block[..<count])
            guard data.count <= streamLimit else {
                throw .readFailed(path: path, reason: "more than \(streamLimit >> 30) GiB from a pipe or device")
            }
        }
    }

    /// Opens audio held in memory (read from standard input, say); `name` stands for the path
    /// in errors. Every format works, also those that need to seek.
    public convenience init(data: Data, name: String) throws(AudioError) {
        guard !data.isEmpty else { throw .cannotOpen(path: name, reason: "no data") }
        let stream = MemoryStream(data)
        try self.init(name: name, memory: stream) { info in
            sf_open_virtual(&MemoryStream.virtualIO, Int32(SFM_READ), &info, Unmanaged.passUnretained(stream).toOpaque())
        }
    }

    /// Opens through `open` and checks the layout the header describes. libsndfile keeps the
    /// reason an open failed in one process-wide variable, so opening and reading that reason
    /// happen under one lock.
    private init(name: String, memory: MemoryStream?, open: (inout SF_INFO) -> OpaquePointer?) throws(AudioError) {
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
    }

    deinit {
        sf_close(handle)
    }

    /// libsndfile's notes from parsing the header (SFC_GET_LOG_INFO).
    var headerLog: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = sf_command(handle, Int32(SFC_GET_LOG_INFO), &buffer, Int32(buffer.count))
        return length > 0 ? String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
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
    let bytes: [UInt8]
    var position = 0

    init(_ data: Data) { bytes = [UInt8](data) }

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
