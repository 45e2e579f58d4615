import Foundation

/// One decoded input file: mono samples at the file's own rate, and what the header said.
public struct DecodedAudio: Sendable, Equatable {
    public let path: String
    /// Hz, as decoded (44.1 kHz Opus decodes at 48 kHz; see `AudioFile.sampleRate`).
    public let sampleRate: Int
    /// Channels in the file, before the mixdown.
    public let channels: Int
    public let formatDescription: String
    /// (frames,) mono, channels averaged.
    public let samples: [Float]

    /// Seconds of audio actually decoded.
    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    public init(path: String) throws(AudioError) {
        try self.init(file: AudioFile(path: path))
    }

    /// Audio held in memory (standard input); `name` stands for the path in errors.
    public init(data: Data, name: String) throws(AudioError) {
        try self.init(file: AudioFile(data: data, name: name))
    }

    private init(file: AudioFile) throws(AudioError) {
        path = file.path
        sampleRate = file.sampleRate
        channels = file.channels
        formatDescription = file.formatDescription
        samples = try file.readMono()
        try requireFinite(samples, path: file.path)
    }

    /// The samples at `targetRate` Hz.
    public func resampled(to targetRate: Int) throws(AudioError) -> [Float] {
        do {
            return try resample(samples, from: sampleRate, to: targetRate)
        } catch {
            throw AudioError(error, path: path)
        }
    }
}

/// Samples for the model must be numbers: NaN or infinity (possible in float files) is refused.
private func requireFinite(_ samples: [Float], path: String) throws(AudioError) {
    let invalid = samples.lazy.filter { !$0.isFinite }.count
    if invalid > 0 { throw .readFailed(path: path, reason: "\(invalid) samples are NaN or infinite") }
}

extension AudioError {
    /// libsamplerate's refusal for the file at `path`.
    init(_ error: ResamplerError, path: String) {
        self = .cannotResample(path: path, from: error.from, to: error.to, reason: error.reason)
    }
}

/// The file at `path` as mono Float samples at `target` Hz (the model's rate).
public func loadAudio(path: String, sampleRate target: Int) throws(AudioError) -> [Float] {
    try DecodedAudio(path: path).resampled(to: target)
}

/// An input read block by block, mono, at the model's rate: long recordings are never held whole.
/// Blocks are 2048 frames of the source; the resampler's state carries across them.
public final class AudioStream {
    public let path: String
    /// The file's own rate (Hz) and channel count, before mixdown and resampling.
    public let sourceRate: Int
    public let channels: Int
    public let sampleRate: Int
    public let file: AudioFile
    private let resampler: StreamingResampler
    private var finished = false
    /// The block after the one being converted, read ahead to know which block is the last.
    private var lookahead: [Float]?
    /// Frames decoded so far, at the file's own rate.
    public private(set) var decodedFrames = 0
    /// Why decoding stopped before the end the header announced, if it did.
    private var stoppedEarly: String?
    /// Source frames read at a time: small enough that a damaged file yields its readable part.
    static let blockFrames = 2048

    public init(file: AudioFile, sampleRate target: Int) throws(AudioError) {
        self.file = file
        path = file.path
        sourceRate = file.sampleRate
        channels = file.channels
        sampleRate = target
        do {
            resampler = try StreamingResampler(from: file.sampleRate, to: target)
        } catch {
            throw AudioError(error, path: file.path)
        }
    }

    public convenience init(path: String, sampleRate target: Int) throws(AudioError) {
        try self.init(file: AudioFile(path: path), sampleRate: target)
    }

    /// The next samples at `sampleRate`; empty once the input is exhausted.
    ///
    /// Blocks are read one ahead, so that the last one reaches the resampler marked as the end of
    /// the input: libsamplerate flushes its filter's tail only with input in the same call (an
    /// empty final call yields nothing), and without it a resampled input would lose its last
    /// few milliseconds.
    public func next() throws(AudioError) -> [Float] {
        while !finished {
            let block: [Float]
            if let lookahead { block = lookahead } else { block = try readBlock() }
            let following: [Float] = block.isEmpty ? [] : try readBlock()
            lookahead = following
            finished = following.isEmpty
            let converted: [Float]
            do {
                converted = try resampler.process(block, endOfInput: finished)
            } catch {
                throw AudioError(error, path: path)
            }
            if !converted.isEmpty { return converted }
        }
        return []
    }

    /// The next block of mono source frames; empty at the end of the input, or where a file
    /// damaged part-way stops decoding (`truncationWarning` says so).
    private func readBlock() throws(AudioError) -> [Float] {
        var block: [Float]
        do {
            block = try file.readMono(maxFrames: Self.blockFrames)
        } catch  where decodedFrames > 0 {
            if case .readFailed(_, let reason) = error { stoppedEarly = reason }
            block = []
        }
        decodedFrames += block.count
        try requireFinite(block, path: path)
        return block
    }

    /// Once the stream is exhausted: a note when it held fewer frames than its header announced
    /// (a truncated file, whose readable part was used) or when its header had to be put right
    /// (see `AudioFile.damage`); nil otherwise.
    public var truncationWarning: String? {
        guard finished else { return nil }
        var notes = file.damage
        if let stoppedEarly {
            notes.append(
                "truncated: decoding stopped after \(decodedFrames) frames (\(stoppedEarly)); transcribed what was readable"
            )
        }
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }
}
