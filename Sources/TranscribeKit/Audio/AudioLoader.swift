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
        let invalid = samples.lazy.filter { !$0.isFinite }.count
        if invalid > 0 {
            throw .readFailed(path: file.path, reason: "\(invalid) samples are NaN or infinite")
        }
    }

    /// The samples at `targetRate` Hz.
    public func resampled(to targetRate: Int) throws(AudioError) -> [Float] {
        do {
            return try resample(samples, from: sampleRate, to: targetRate)
        } catch {
            throw .cannotResample(path: path, from: error.from, to: error.to, reason: error.reason)
        }
    }
}

/// The file at `path` as mono Float samples at `target` Hz (the model's rate).
public func loadAudio(path: String, sampleRate target: Int) throws(AudioError) -> [Float] {
    try DecodedAudio(path: path).resampled(to: target)
}
