import CSampleRate

/// Why libsamplerate refused a conversion from one rate (Hz) to another.
public struct ResamplerError: Error, CustomStringConvertible, Equatable, Sendable {
    public let from: Int
    public let to: Int
    /// libsamplerate's `src_strerror` text.
    public let reason: String

    public var description: String {
        "cannot resample from \(from) Hz to \(to) Hz: \(reason)"
    }
}

/// Converts mono samples from `sourceRate` to `targetRate` (Hz) with libsamplerate's medium
/// sinc interpolator (`StreamingResampler`): (n,) -> (about n * targetRate / sourceRate,).
/// Equal rates return `samples` untouched.
public func resample(
    _ samples: [Float], from sourceRate: Int, to targetRate: Int
) throws(ResamplerError) -> [Float] {
    if sourceRate == targetRate { return samples }
    return try StreamingResampler(from: sourceRate, to: targetRate).process(samples, endOfInput: true)
}

/// libsamplerate's medium sinc converter over a stream of blocks (`src_process`): the filter's
/// state carries across blocks, so a long recording is converted block by block in bounded memory.
/// Equal rates pass blocks through untouched. Owns the `SRC_STATE*`, deleted in `deinit`.
///
/// Medium, not best: from 44.1 kHz it is flat to 6.8 kHz and 5 dB down from 7.2 to 8 kHz (the top
/// of Whisper's mel bands; ffmpeg's default, which Whisper's own pipeline uses, is 2 dB down there),
/// with noise below -120 dB, and takes a quarter of the time. The best converter took 117 s of one
/// thread per hour of 44.1 kHz audio, as long as tiny.en's whole transcription of 16 kHz audio.
public final class StreamingResampler {
    public let sourceRate: Int
    public let targetRate: Int
    private let state: OpaquePointer?
    private let ratio: Double

    public init(from sourceRate: Int, to targetRate: Int) throws(ResamplerError) {
        self.sourceRate = sourceRate
        self.targetRate = targetRate
        ratio = Double(targetRate) / Double(max(sourceRate, 1))
        guard sourceRate != targetRate else {
            state = nil
            return
        }
        guard sourceRate > 0, targetRate > 0, src_is_valid_ratio(ratio) != 0 else {
            throw ResamplerError(from: sourceRate, to: targetRate, reason: Self.message(6))  // SRC_ERR_BAD_SRC_RATIO
        }
        var error: Int32 = 0
        guard let state = src_new(Int32(SRC_SINC_MEDIUM_QUALITY), 1, &error) else {
            throw ResamplerError(from: sourceRate, to: targetRate, reason: Self.message(error))
        }
        self.state = state
    }

    deinit {
        if let state { src_delete(state) }
    }

    /// The converted samples of the next `block`; with `endOfInput`, also the filter's tail.
    public func process(_ block: [Float], endOfInput: Bool) throws(ResamplerError) -> [Float] {
        guard let state else { return block }
        var output: [Float] = []
        output.reserveCapacity(Int((Double(block.count) * ratio).rounded(.up)) + 64)
        var scratch = [Float](repeating: 0, count: max(4096, Int(Double(block.count) * ratio) + 64))
        var consumed = 0
        while true {
            var status: Int32 = 0
            var (used, made) = (0, 0)
            block.withUnsafeBufferPointer { input in
                scratch.withUnsafeMutableBufferPointer { out in
                    var data = SRC_DATA()
                    data.data_in = input.baseAddress.map { $0 + consumed }
                    data.input_frames = input.count - consumed
                    data.data_out = out.baseAddress
                    data.output_frames = out.count
                    data.src_ratio = ratio
                    data.end_of_input = endOfInput ? 1 : 0
                    status = src_process(state, &data)
                    (used, made) = (data.input_frames_used, data.output_frames_gen)
                }
            }
            guard status == 0 else {
                throw ResamplerError(from: sourceRate, to: targetRate, reason: Self.message(status))
            }
            consumed += used
            output.append(contentsOf: scratch[..<made])
            // Done when the block is used up and (at the end) the tail is flushed.
            if consumed >= block.count && (!endOfInput || made == 0) { break }
            if used == 0 && made == 0 { break }
        }
        return output
    }

    private static func message(_ status: Int32) -> String {
        src_strerror(status).map { String(cString: $0) } ?? "error \(status)"
    }
}
