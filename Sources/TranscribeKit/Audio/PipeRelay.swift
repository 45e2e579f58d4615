import Foundation

/// A piece of a stream on its way to libsndfile (see `StreamFramer`).
enum StreamPiece: Equatable {
    /// Bytes for the current link.
    case bytes([UInt8])
    /// The bytes after this are a link of their own, opened by a handle of its own.
    case nextStream
}

/// Cuts a stream arriving in pieces into links and puts right what libsndfile would misread.
protocol StreamFramer {
    mutating func append(_ bytes: ArraySlice<UInt8>) -> [StreamPiece]
    /// The rest, once the input has ended.
    mutating func finish() -> [StreamPiece]
    /// Warnings about the input, complete after `finish`.
    var notes: [String] { get }
}

/// A pipe's bytes passed on to libsndfile through a socket pair per link, by a thread of its
/// own, so that what libsndfile would stop early on is still decoded as it arrives, in bounded
/// memory: each stream of an Ogg chain (libsndfile ends with the first), WAV audio behind a
/// data size that was never filled in (see `WAVStreamRepair`). libsndfile reads a socket as it
/// reads a pipe.
final class PipeRelay: @unchecked Sendable {
    private let source: Int32
    /// Written to wake the thread when the reader is gone.
    private let wake: (read: Int32, write: Int32)
    private let condition = NSCondition()
    /// Read ends of the links made and not yet taken.
    private var ready: [Int32] = []
    private var finished = false
    private var cancelled = false
    private var collectedNotes: [String] = []

    private static let blockBytes = 1 << 16

    /// Starts relaying `descriptor`, which the relay takes and closes; `name` stands for the
    /// input in errors.
    init(descriptor: Int32, framer: some StreamFramer & Sendable, name: String) throws(AudioError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            close(descriptor)
            throw .cannotOpen(path: name, reason: String(cString: strerror(errno)))
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        source = descriptor
        wake = (ends[0], ends[1])
        let thread = Thread { [self] in self.run(framer) }
        thread.name = "transcribe pipe relay"
        thread.start()
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// The read end of the next link's socket, for the caller to hand to libsndfile; nil after
    /// the last one. Waits for the relay to reach it.
    func nextLink() -> Int32? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !finished { condition.wait() }
        return ready.isEmpty ? nil : ready.removeFirst()
    }

    /// libsndfile's handle on the link whose read end `nextLink` gave. It reads a copy of the
    /// descriptor; when it cannot open the link, the socket is shut down, so that the relay does
    /// not wait on a reader that is not there.
    func open(_ descriptor: Int32, name: String) throws(AudioError) -> SoundFile {
        defer { close(descriptor) }
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        do throws(AudioError) {
            guard copy >= 0 else { throw .cannotOpen(path: name, reason: String(cString: strerror(errno))) }
            return try SoundFile(descriptor: copy, name: name)
        } catch {
            shutdown(descriptor, Int32(SHUT_RDWR))
            throw error
        }
    }

    /// Warnings about the stream; complete once `nextLink` has returned nil.
    var notes: [String] {
        condition.lock()
        defer { condition.unlock() }
        return collectedNotes
    }

    /// Stops relaying: the links not taken are closed and the thread ends soon after.
    func cancel() {
        condition.lock()
        cancelled = true
        ready.forEach { close($0) }
        ready = []
        condition.unlock()
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    private func run(_ framer: some StreamFramer) {
        var framer = framer
        var link = openLink()
        var block = [UInt8](repeating: 0, count: Self.blockBytes)
        var pieces: [StreamPiece] = []
        var ended = false
        while !ended {
            var requests = [
                pollfd(fd: source, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&requests, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            if requests[1].revents != 0 { break }
            let count = block.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                record("reading the input stopped: \(String(cString: strerror(errno)))")
                ended = true
                pieces = framer.finish()
            } else if count == 0 {
                ended = true
                pieces = framer.finish()
            } else {
                pieces = framer.append(block[..<count])
            }
            for piece in pieces {
                switch piece {
                case .bytes(let bytes):
                    // A reader that has gone (libsndfile stopped early) gets nothing more of this link.
                    if let current = link, !send(bytes, to: current) {
                        close(current)
                        link = nil
                    }
                case .nextStream:
                    if let current = link { close(current) }
                    link = openLink()
                }
            }
        }
        if let link { close(link) }
        close(source)
        condition.lock()
        collectedNotes += framer.notes
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// A new socket pair: its read end queued for `nextLink`, its write end returned.
    private func openLink() -> Int32? {
        var ends: [Int32] = [-1, -1]
        condition.lock()
        defer { condition.unlock() }
        guard !cancelled, socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0
        else { return nil }
        ready.append(ends[0])
        condition.broadcast()
        return ends[1]
    }

    /// Writes all of `bytes`; false when the reader has closed its end.
    private func send(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    private func record(_ note: String) {
        condition.lock()
        collectedNotes.append(note)
        condition.unlock()
    }
}
