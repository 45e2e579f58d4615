import Foundation

/// An audio input opened for reading with libsndfile: WAV (8/16/24/32-bit PCM, float), FLAC,
/// Ogg Vorbis, Opus, MP3 and whatever else the installed libsndfile decodes.
///
/// What libsndfile would read short is put right first, without touching the file (see
/// `damage`): a chained Ogg file (`cat a.ogg b.ogg`) is decoded one stream after another, each
/// resampled to the first one's rate where they differ; a WAV header whose data size was never
/// filled in (a recorder stopped mid-write) is given the size of the audio that follows; an MP3
/// without a Xing header, whose length libsndfile can only estimate, is read to its last frame.
public final class AudioFile {
    public let path: String
    /// Frames per second as decoded (of the first stream, for a chained file). Opus decodes at the
    /// Opus rate (8, 12, 16, 24, 48 kHz) at or above the rate it was encoded from, so 44.1 kHz
    /// comes back as 48 kHz.
    public let sampleRate: Int
    public let channels: Int
    /// Frames per channel as the header claims (`Int64.max` when unknown, as for a chained file);
    /// `readMono()` reads what the data holds, not this.
    public let frames: Int64
    /// Seconds of audio as the header claims, where it claims a length.
    public var claimedSeconds: Double? {
        frames > 0 && frames < Int64.max && sampleRate > 0 ? Double(frames) / Double(sampleRate) : nil
    }
    /// libsndfile's names for container and encoding: "WAV (Microsoft), Signed 16 bit PCM".
    public let formatDescription: String

    /// The stream being decoded: the input itself, or one link of a chain.
    private var link: SoundFile?
    private var linkNumber = 1
    /// Frames decoded from `link`, at its own rate.
    private var linkFrames: Int64 = 0
    /// The links after `link`.
    private let upcoming: Upcoming
    /// `link`'s rate to `sampleRate`, where they differ, and the block held back for it: a
    /// resampler flushes its tail only with input in the same call.
    private var converter: StreamingResampler?
    private var heldBack: [Float] = []
    /// An MPEG stream, whose frames were walked to tell whether it is cut (`MPEGStream`):
    /// libsndfile's frame count is no guide there.
    private let framesWalked: Bool
    private var notes: [String]

    /// Where the links after the first come from.
    private enum Upcoming {
        case bytes([ByteSource])
        case relay(PipeRelay)
        case none
    }

    /// Interleaved samples decoded per call at most by `readMono()`.
    private static let chunkSamples = 1 << 17

    public convenience init(path: String) throws(AudioError) {
        try self.init(path: BytePath(path), name: path)
    }

    /// The file at `path`, named `name` in errors. The path is bytes (any name the kernel takes,
    /// UTF-8 or not, of any length it takes): the file is opened here and read through its
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
            try self.init(bytes: FileBytes(descriptor: Self.copy(of: descriptor, name: name)), name: name)
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
        case .file:
            try self.init(bytes: FileBytes(descriptor: Self.copy(of: descriptor, name: name)), name: name)
        case .pipe(let relaying):
            let copy = try Self.copy(of: descriptor, name: name)
            _ = fcntl(copy, F_SETFL, fcntl(copy, F_GETFL) & ~O_NONBLOCK)
            try self.init(pipe: copy, relaying: relaying, name: name)
        }
    }

    /// A descriptor of its own for the input, which libsndfile, the relay or `FileBytes` closes.
    private static func copy(of descriptor: Int32, name: String) throws(AudioError) -> Int32 {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw .cannotOpen(path: name, reason: String(cString: strerror(errno))) }
        return copy
    }

    /// Opens audio held in memory (read from standard input, say); `name` stands for the path
    /// in errors. Every format works, also those that need to seek.
    public convenience init(data: Data, name: String) throws(AudioError) {
        guard !data.isEmpty else { throw .cannotOpen(path: name, reason: "no data") }
        try self.init(bytes: MemoryBytes(data), name: name)
    }

    /// A file or bytes in memory, seen whole before decoding: the repairs are planned here.
    private convenience init(bytes: ByteSource, name: String) throws(AudioError) {
        let chain = OggChain.links(in: bytes)
        if chain.count > 1 {
            let first = try SoundFile(bytes: bytes.slice(chain[0]), name: name)
            try self.init(first: first, upcoming: .bytes(chain.dropFirst().map { bytes.slice($0) }), notes: [])
            return
        }
        if let repair = WAVHeader.repair(of: bytes) {
            let first = try SoundFile(bytes: repair.applied(to: bytes), name: name)
            try self.init(first: first, upcoming: .none, notes: [repair.note])
            return
        }
        var first = try SoundFile(bytes: bytes, name: name)
        guard first.container == .mpeg, let stream = MPEGStream(bytes) else {
            try self.init(first: first, upcoming: .none, notes: [])
            return
        }
        // libsndfile reads no further than its estimate, or than a Xing header that counts less
        // than the file holds (`cat a.mp3 b.mp3`): give it the count of the frames there are.
        let cut = stream.announcedFrames.map { stream.frames > $0 + 1 } ?? (first.frames < Int64(stream.samples))
        let audio = stream.audioStart + (stream.announcedFrames == nil ? 0 : stream.first.length)
        if cut, let info = MPEGStream.infoFrame(like: bytes.bytes(audio..<(audio + 4)), frames: stream.frames) {
            let counted = SplicedBytes([
                .range(bytes, 0..<stream.audioStart), .bytes(info), .range(bytes, audio..<bytes.count),
            ])
            first = try SoundFile(bytes: counted, name: name)
        }
        try self.init(first: first, upcoming: .none, notes: [stream.damage].compactMap { $0 }, framesWalked: true)
    }

    /// A pipe, decoded as it arrives: straight from libsndfile, or through a relay that cuts it
    /// into links and repairs its header (`StreamInput.Relaying`).
    private convenience init(pipe descriptor: Int32, relaying: StreamInput.Relaying?, name: String) throws(AudioError) {
        let relay: PipeRelay
        switch relaying {
        case nil:
            try self.init(first: SoundFile(descriptor: descriptor, name: name), upcoming: .none, notes: [])
            return
        case .oggChain: relay = try PipeRelay(descriptor: descriptor, framer: OggChainSplitter(), name: name)
        case .wavHeader: relay = try PipeRelay(descriptor: descriptor, framer: WAVStreamRepair(), name: name)
        }
        guard let first = relay.nextLink() else {
            relay.cancel()
            throw .cannotOpen(path: name, reason: "no data")
        }
        do {
            try self.init(first: relay.open(first, name: name), upcoming: .relay(relay), notes: [])
        } catch {
            relay.cancel()
            throw error
        }
    }

    private init(first: SoundFile, upcoming: Upcoming, notes: [String], framesWalked: Bool = false) throws(AudioError) {
        path = first.name
        link = first
        sampleRate = first.sampleRate
        channels = first.channels
        formatDescription = first.formatDescription
        self.upcoming = upcoming
        if case .none = upcoming { frames = first.frames } else { frames = Int64.max }
        self.notes = notes
        self.framesWalked = framesWalked
    }

    deinit {
        link = nil
        if case .relay(let relay) = upcoming { relay.cancel() }
    }

    /// What was wrong with the input and was worked around, or cut its decoding short: a header
    /// put right, a stream shorter than its header announces. Complete once `readMono` has
    /// returned everything.
    var damage: [String] { notes }

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

    /// Up to about `maxFrames` of the next frames, channels averaged, at `sampleRate`; empty at
    /// the end of the data (of the last link).
    public func readMono(maxFrames: Int) throws(AudioError) -> [Float] {
        while let current = link {
            let block = try current.readMono(maxFrames: maxFrames)
            linkFrames += Int64(block.count)
            guard let converter else {
                if !block.isEmpty { return block }
                try nextLink()
                continue
            }
            // One block held back, so that the link's last one reaches the resampler marked as its end.
            let ending = block.isEmpty
            let converted: [Float]
            do {
                converted = try converter.process(heldBack, endOfInput: ending)
            } catch {
                throw AudioError(error, path: path)
            }
            heldBack = block
            if ending { try nextLink() }
            if !converted.isEmpty { return converted }
        }
        return []
    }

    /// Ends the current link, noting whether it was cut short, and opens the next one.
    private func nextLink() throws(AudioError) {
        if let link, let note = truncation(of: link) { notes.append(note) }
        link = nil
        converter = nil
        heldBack = []
        linkFrames = 0
        // A stream that cannot be opened is skipped, with a note; the ones after it are read.
        while let opening = openUpcoming() {
            linkNumber += 1
            switch opening {
            case .failure(let error):
                notes.append("stream \(linkNumber) of the chain was skipped: \(error.reason)")
            case .success(let next):
                link = next
                guard next.sampleRate != sampleRate else { return }
                do {
                    converter = try StreamingResampler(from: next.sampleRate, to: sampleRate)
                } catch {
                    throw AudioError(error, path: path)
                }
                return
            }
        }
        if case .relay(let relay) = upcoming { notes += relay.notes }
    }

    /// The link after `linkNumber` opened, or why it cannot be; nil after the last.
    private func openUpcoming() -> Result<SoundFile, AudioError>? {
        switch upcoming {
        case .none:
            return nil
        case .bytes(let sources):
            guard linkNumber <= sources.count else { return nil }
            return Result { () throws(AudioError) in try SoundFile(bytes: sources[linkNumber - 1], name: path) }
        case .relay(let relay):
            guard let descriptor = relay.nextLink() else { return nil }
            return Result { () throws(AudioError) in try relay.open(descriptor, name: path) }
        }
    }

    /// A note when `link` held fewer frames than its header announced (a truncated file, whose
    /// readable part was used); nil otherwise.
    private func truncation(of link: SoundFile) -> String? {
        let which = linkNumber > 1 || isKnownChain ? "stream \(linkNumber) of the chain: " : ""
        // An MP3's count is an estimate; its frames were walked instead (see `MPEGStream`).
        if !framesWalked, link.frames > 0, link.frames < Int64(Int32.max) * 1024, linkFrames < link.frames,
            !link.headerLengthIsPlaceholder
        {
            return
                "truncated: \(which)decoded \(linkFrames) of the \(link.frames) frames the header announces; transcribed what was readable"
        }
        // libsndfile shortens a WAV whose data chunk runs past the end of the file, and notes it.
        if let line = link.headerLog.split(separator: "\n").first(where: {
            $0.hasPrefix("data") && $0.contains("(should be")
        }) {
            return
                "truncated: \(which)the header's data size is larger than the file (\(line.trimmingCharacters(in: .whitespaces))); transcribed what was readable"
        }
        return nil
    }

    /// A file with several links: each is named in a note.
    private var isKnownChain: Bool {
        if case .bytes(let sources) = upcoming { return !sources.isEmpty }
        return false
    }
}
