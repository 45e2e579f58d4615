import Foundation

/// Headerless PCM (`arecord -t raw`, `ffmpeg -f s16le`), read from a file descriptor as it
/// arrives: interleaved samples of a known encoding, rate and channel count, mixed to mono and
/// resampled to `sampleRate` block by block. A read returns what the pipe holds, so a live
/// stream's samples reach the recognizer within one block (0.1 s) of being written.
public final class RawPCMStream: SampleSource {
    /// How a sample is stored.
    public enum Encoding: String, CaseIterable, Sendable {
        /// 16-bit signed little-endian integers, scaled by 1/32768 as libsndfile reads them.
        case s16le
        /// 32-bit IEEE floats, little-endian.
        case f32le

        public var bytesPerSample: Int { self == .s16le ? 2 : 4 }
    }

    public let name: String
    public let sampleRate: Int
    public let sourceRate: Int
    public let channels: Int
    public let encoding: Encoding
    private let descriptor: Int32
    private let closing: Bool
    private let resampler: StreamingResampler
    /// Bytes read that do not yet make a whole frame.
    private var leftover: [UInt8] = []
    private var finished = false

    /// Reads `descriptor`, closed when the stream is done with where `closing` (a file it was
    /// opened for), else left open. `name` is for messages.
    public init(
        descriptor: Int32, closing: Bool = false, name: String, encoding: Encoding, sourceRate: Int, channels: Int,
        sampleRate: Int
    ) throws(AudioError) {
        self.closing = closing
        guard sourceRate > 0, channels > 0 else {
            throw .unsupportedLayout(
                path: name, reason: "raw audio needs a rate and a channel count above 0 (\(sourceRate) Hz, \(channels))"
            )
        }
        self.descriptor = descriptor
        self.name = name
        self.encoding = encoding
        self.sourceRate = sourceRate
        self.channels = channels
        self.sampleRate = sampleRate
        do {
            resampler = try StreamingResampler(from: sourceRate, to: sampleRate)
        } catch {
            throw AudioError(error, path: name)
        }
    }

    deinit {
        if closing { close(descriptor) }
    }

    /// The next samples at `sampleRate`, as soon as a read returns some; empty at the end. Each
    /// block goes to the resampler as it comes, not held back to be marked the last: where the
    /// rates differ, the filter's last few milliseconds are not flushed.
    public func next() throws(AudioError) -> [Float] {
        while !finished {
            let block = try readBlock()
            finished = block == nil
            do {
                let converted = try resampler.process(block ?? [], endOfInput: finished)
                if !converted.isEmpty || finished { return converted }
            } catch {
                throw AudioError(error, path: name)
            }
        }
        return []
    }

    /// The next mono frames read, at the source rate; nil at the end of the input. A few bytes
    /// of a frame cut off at the end are dropped.
    private func readBlock() throws(AudioError) -> [Float]? {
        let frameBytes = encoding.bytesPerSample * channels
        let wanted = max(frameBytes, sourceRate / 10 * frameBytes)
        var bytes = [UInt8](repeating: 0, count: wanted)
        while true {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, wanted) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw .readFailed(path: name, reason: String(cString: strerror(errno))) }
            if count == 0 { return nil }
            let data = leftover + bytes[..<count]
            let whole = data.count / frameBytes * frameBytes
            leftover = Array(data[whole...])
            if whole == 0 { continue }
            let block = mono(data[..<whole])
            guard block.allSatisfy(\.isFinite) else {
                throw .readFailed(path: name, reason: "a sample is not a finite number (is the format f32le?)")
            }
            return block
        }
    }

    /// Interleaved frames as mono: the mean of the channels.
    private func mono(_ data: ArraySlice<UInt8>) -> [Float] {
        let frameCount = data.count / (encoding.bytesPerSample * channels)
        var out = [Float](repeating: 0, count: frameCount)
        data.withUnsafeBytes { raw in
            for frame in 0..<frameCount {
                var sum: Float = 0
                for channel in 0..<channels {
                    let offset = (frame * channels + channel) * encoding.bytesPerSample
                    switch encoding {
                    case .s16le:
                        sum +=
                            Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
                            / 32768
                    case .f32le:
                        sum += Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                        )
                    }
                }
                out[frame] = sum / Float(channels)
            }
        }
        return out
    }
}
