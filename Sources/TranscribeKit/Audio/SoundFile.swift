import CSndFile
import Foundation

/// One libsndfile handle: a header parsed and its samples decoded, from a `ByteSource` (through
/// libsndfile's virtual I/O) or from a pipe's descriptor. Owns the `SNDFILE*` handle and
/// closes it in `deinit`. `AudioFile` strings these together into one input.
final class SoundFile {
    /// The container, as far as the repairs in `AudioFile` care.
    enum Container { case wav, mpeg, ogg, other }

    let name: String
    /// Frames per second as decoded. Opus decodes at the Opus rate (8, 12, 16, 24, 48 kHz) at or
    /// above the rate it was encoded from, so 44.1 kHz comes back as 48 kHz.
    let sampleRate: Int
    let channels: Int
    /// Frames per channel as the header claims (`Int64.max` when unknown). libsndfile reads no
    /// further than this: for an MP3 without a Xing header it is an estimate from the file size.
    let frames: Int64
    let container: Container
    /// libsndfile's names for container and encoding: "WAV (Microsoft), Signed 16 bit PCM".
    let formatDescription: String
    /// Read from a pipe whose header gives a placeholder length (see `isPlaceholder`), so that
    /// ending before it is no sign of damage.
    let headerLengthIsPlaceholder: Bool

    private let handle: OpaquePointer
    /// The bytes behind a handle opened through `VirtualFile.io`.
    private let virtualFile: VirtualFile?

    /// Interleaved samples decoded per `sf_readf_float` call at most (512 KiB of Float).
    private static let chunkSamples = 1 << 17

    /// Opens `bytes`, any format libsndfile knows, also those that need to seek.
    convenience init(bytes: ByteSource, name: String) throws(AudioError) {
        let file = VirtualFile(bytes)
        try self.init(name: name, virtualFile: file, isStream: false) { info in
            sf_open_virtual(&VirtualFile.io, Int32(SFM_READ), &info, Unmanaged.passUnretained(file).toOpaque())
        }
    }

    /// Opens what arrives on `descriptor` (a pipe or socket), which libsndfile reads and closes.
    convenience init(descriptor: Int32, name: String) throws(AudioError) {
        try self.init(name: name, virtualFile: nil, isStream: true) { info in
            sf_open_fd(descriptor, Int32(SFM_READ), &info, 1)
        }
    }

    /// Opens through `open` and checks the layout the header describes. libsndfile keeps the
    /// reason an open failed in one process-wide variable, so opening and reading that reason
    /// happen under one lock.
    private init(
        name: String, virtualFile: VirtualFile?, isStream: Bool, open: (inout SF_INFO) -> OpaquePointer?
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
        self.name = name
        self.handle = handle
        self.virtualFile = virtualFile
        sampleRate = Int(info.samplerate)
        channels = Int(info.channels)
        frames = info.frames
        formatDescription = Self.describe(format: info.format)
        switch info.format & Int32(SF_FORMAT_TYPEMASK) {
        case Int32(SF_FORMAT_WAV), Int32(SF_FORMAT_RF64): container = .wav
        case Int32(SF_FORMAT_MPEG): container = .mpeg
        case Int32(SF_FORMAT_OGG): container = .ogg
        default: container = .other
        }
        headerLengthIsPlaceholder =
            isStream && Self.isPlaceholder(frames: info.frames, channels: info.channels, format: info.format)
    }

    deinit {
        sf_close(handle)
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
        let file = VirtualFile(MemoryBytes(data))
        var info = SF_INFO()
        openLock.lock()
        defer { openLock.unlock() }
        guard
            let handle = sf_open_virtual(
                &VirtualFile.io, Int32(SFM_READ), &info, Unmanaged.passUnretained(file).toOpaque())
        else {
            return sf_error(nil) == SF_ERR_UNRECOGNISED_FORMAT ? message(sf_strerror(nil)) : nil
        }
        sf_close(handle)
        return nil
    }

    /// libsndfile's notes from parsing the header (SFC_GET_LOG_INFO).
    var headerLog: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = sf_command(handle, Int32(SFC_GET_LOG_INFO), &buffer, Int32(buffer.count))
        return length > 0
            ? String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }

    /// Up to `maxFrames` of the next frames, channels averaged; empty at the end of the data.
    func readMono(maxFrames: Int) throws(AudioError) -> [Float] {
        let maxFrames = max(1, min(maxFrames, Self.chunkSamples / channels))
        var interleaved = [Float](repeating: 0, count: maxFrames * channels)
        let read = interleaved.withUnsafeMutableBufferPointer {
            sf_readf_float(handle, $0.baseAddress, sf_count_t(maxFrames))
        }
        if read <= 0 && sf_error(handle) != SF_ERR_NO_ERROR {
            throw .readFailed(path: name, reason: Self.message(sf_strerror(handle)))
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

/// A `ByteSource` and a read position behind libsndfile's virtual I/O callbacks.
private final class VirtualFile {
    let bytes: ByteSource
    var position = 0

    init(_ bytes: ByteSource) { self.bytes = bytes }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> VirtualFile {
        Unmanaged<VirtualFile>.fromOpaque(pointer!).takeUnretainedValue()
    }

    nonisolated(unsafe) static var io = SF_VIRTUAL_IO(
        get_filelen: { user in sf_count_t(VirtualFile.from(user).bytes.count) },
        seek: { offset, whence, user in
            let file = VirtualFile.from(user)
            let base: Int
            switch whence {
            case SEEK_CUR: base = file.position
            case SEEK_END: base = file.bytes.count
            default: base = 0
            }
            let (target, overflow) = base.addingReportingOverflow(Int(offset))
            guard !overflow, target >= 0 else { return -1 }
            file.position = target
            return sf_count_t(target)
        },
        read: { destination, count, user in
            let file = VirtualFile.from(user)
            guard count > 0, let destination else { return 0 }
            let read = file.bytes.read(
                into: UnsafeMutableRawBufferPointer(start: destination, count: Int(count)), at: file.position)
            file.position += read
            return sf_count_t(read)
        },
        write: { _, _, _ in 0 },
        tell: { user in sf_count_t(VirtualFile.from(user).position) })
}
