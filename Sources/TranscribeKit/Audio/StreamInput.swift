import Foundation

/// Audio that arrives through a descriptor that cannot seek: standard input, a named pipe, a
/// device. Formats libsndfile reads front to back (WAV, AIFF, AU, Ogg Vorbis/Opus) are decoded
/// from the pipe block by block as the bytes arrive, so an endless stream is read in bounded
/// memory; WAV and Ogg pass through a `PipeRelay` on the way, which hands each stream of an Ogg
/// chain to libsndfile in turn and puts right a WAV data size that was never filled in. The rest
/// (FLAC, CAF, ... which seek; MP3, see `PipePeek.isStreamable`) and whatever is not a pipe are
/// read into memory first, up to `memoryLimit`; a stream whose first mebibyte libsndfile cannot
/// place fails there. Standard input redirected from a file is read where it lies.
public enum StreamInput {
    /// The most read into memory for one input.
    public static let memoryLimit = 1 << 30
    /// Bytes read before a stream read into memory must show a format libsndfile knows.
    static let probeBytes = 1 << 20

    /// How to open what arrives on `descriptor`.
    enum Plan: Equatable {
        /// A regular file (standard input redirected from one): read it where it lies.
        case file
        /// A pipe holding a format libsndfile decodes from a pipe: decoded as it arrives, through
        /// a `PipeRelay` where libsndfile would stop early.
        case pipe(Relaying?)
        /// Everything, read into memory first.
        case memory(Data)
    }

    /// What a `PipeRelay` does for a format that streams.
    enum Relaying: Equatable {
        /// Ogg: each stream of a chain to a handle of its own.
        case oggChain
        /// WAV: a data size that was never filled in put right.
        case wavHeader
    }

    /// Looks at the stream's first bytes (without consuming them, where it is a pipe) and reads
    /// it into memory unless it can be decoded as it arrives. `name` stands for the path in errors.
    static func plan(descriptor: Int32, name: String, memoryLimit: Int) throws(AudioError) -> Plan {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .cannotOpen(path: name, reason: String(cString: strerror(errno)))
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR:
            throw .cannotOpen(path: name, reason: "is a directory")
        case S_IFREG:
            guard status.st_size > lseek(descriptor, 0, SEEK_CUR) else {
                throw .cannotOpen(path: name, reason: "no data")
            }
            return .file
        case S_IFIFO:
            guard let head = PipePeek.peek(descriptor, count: PipePeek.headerBytes) else { break }
            if head.isEmpty { throw .cannotOpen(path: name, reason: "no data") }
            if PipePeek.isStreamable(head) { return .pipe(PipePeek.relaying(head)) }
        default:
            break
        }
        return try .memory(readIntoMemory(descriptor: descriptor, name: name, limit: memoryLimit))
    }

    /// Everything `descriptor` holds, up to `limit` bytes. Once `probeBytes` have arrived without
    /// the end, they must open as audio (libsndfile recognises the format) for reading to go on,
    /// so that `/dev/zero` or random bytes fail after one mebibyte, not after a gibibyte.
    static func readIntoMemory(descriptor: Int32, name: String, limit: Int) throws(AudioError) -> Data {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        var data = Data()
        var block = [UInt8](repeating: 0, count: 1 << 16)
        var probed = false
        while true {
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .readFailed(path: name, reason: String(cString: strerror(errno))) }
            if count == 0 {
                guard !data.isEmpty else { throw .cannotOpen(path: name, reason: "no data") }
                return data
            }
            data.append(contentsOf: block[..<count])
            if !probed && data.count >= probeBytes {
                probed = true
                if let reason = SoundFile.unrecognisedFormat(data) {
                    let sentence = reason.hasSuffix(".") ? String(reason.dropLast()) : reason
                    throw .cannotOpen(
                        path: name, reason: "\(sentence) (in the first \(probeBytes >> 20) MiB of the stream)")
                }
            }
            guard data.count <= limit else {
                throw .readFailed(
                    path: name,
                    reason: "more than \(describe(bytes: limit)) arrived; this format is read "
                        + "into memory before decoding when it does not come from a file (it needs to seek): give it as a file"
                )
            }
        }
    }
}

/// "1 GiB", "512 KiB": a size in the largest binary unit that divides it.
private func describe(bytes: Int) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0
    {
        return "\(bytes >> shift) \(unit)"
    }
    return "\(bytes) bytes"
}

/// The first bytes of a pipe, copied out with tee(2) so that they stay in the pipe for the decoder.
enum PipePeek {
    enum Kind: Sendable { case empty, streamable, needsMemory }

    /// Bytes enough to tell the formats apart (RIFF....WAVE).
    static let headerBytes = 12
    /// How long a pipe that has sent part of a header is given for the rest.
    static let patience: Duration = .seconds(2)

    /// What the pipe's first bytes say: nothing at all (the writer closed without writing), a
    /// format libsndfile decodes from a pipe, or anything else.
    static func classify(_ descriptor: Int32) -> Kind {
        guard let head = peek(descriptor, count: headerBytes) else { return .needsMemory }
        if head.isEmpty { return .empty }
        return isStreamable(head) ? .streamable : .needsMemory
    }

    /// What a relay must do for the streamable format whose first bytes are `head`: Ogg may be a
    /// chain, a WAV header may lack its data size; nil for the rest (AIFF, AU).
    static func relaying(_ head: [UInt8]) -> StreamInput.Relaying? {
        if head.starts(with: OggPageHeader.capture) { return .oggChain }
        if head.starts(with: "RIFF".utf8) || head.starts(with: "RIFX".utf8) { return .wavHeader }
        return nil
    }

    /// Containers libsndfile reads from a pipe front to back. Tried with each: FLAC, CAF, VOC,
    /// PAF, XI, HTK and WVE fail from a pipe; MP3 decodes, but libsndfile 1.2's pipe reads then
    /// run past a heap buffer (AddressSanitizer, FuzzAudio), so MP3 goes through memory too.
    static func isStreamable(_ head: [UInt8]) -> Bool {
        func text(_ range: Range<Int>) -> String? {
            head.count >= range.upperBound ? String(decoding: head[range], as: UTF8.self) : nil
        }
        switch text(0..<4) {
        case "RIFF", "RIFX": return text(8..<12) == "WAVE"
        case "RF64": return true
        case "FORM": return text(8..<12) == "AIFF" || text(8..<12) == "AIFC"
        case ".snd", "dns.": return true
        case "OggS": return true
        default: return false
        }
    }

    /// Up to `count` bytes from the front of the pipe, left in it: fewer when the writer closes
    /// first or sends no more within `patience`; nil when tee(2) cannot read this descriptor.
    static func peek(_ descriptor: Int32, count: Int) -> [UInt8]? {
        guard let tee = teeFunction else { return nil }
        var scratch: [Int32] = [-1, -1]
        guard pipe(&scratch) == 0 else { return nil }
        defer { scratch.forEach { close($0) } }
        for end in scratch { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let clock = ContinuousClock()
        var waitingSince: ContinuousClock.Instant?
        var bytes: [UInt8] = []
        while true {
            let copied = tee(descriptor, scratch[1], min(count, 1 << 16), spliceNonblock)
            if copied < 0 {
                guard errno == EAGAIN || errno == EINTR else { return nil }
                // Nothing yet: wait for the writer's first bytes (or for it to close).
                var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&request, 1, -1)
                continue
            }
            bytes = [UInt8](repeating: 0, count: copied)
            let drained = bytes.withUnsafeMutableBytes { read(scratch[0], $0.baseAddress, copied) }
            bytes = Array(bytes.prefix(max(0, drained)))
            if copied == 0 || bytes.count >= count { return bytes }
            // Part of a header: more may come; a closed writer (POLLHUP) or a long wait ends it.
            var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&request, 1, 0)
            if request.revents & Int16(POLLHUP) != 0 { return bytes }
            let start = waitingSince ?? clock.now
            waitingSince = start
            if clock.now - start > patience { return bytes }
            usleep(5_000)
        }
    }

    /// SPLICE_F_NONBLOCK: tee(2) returns EAGAIN instead of waiting for the writer.
    private static let spliceNonblock: UInt32 = 2

    /// glibc's tee(2), which Swift's Glibc module does not import.
    private static let teeFunction: (@convention(c) (Int32, Int32, Int, UInt32) -> Int)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "tee") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32, Int, UInt32) -> Int).self)
    }()
}
