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

/// Converts mono samples from `sourceRate` to `targetRate` (Hz) with libsamplerate's best
/// sinc interpolator: (n,) -> (about n * targetRate / sourceRate,).
/// Equal rates return `samples` untouched.
public func resample(
    _ samples: [Float], from sourceRate: Int, to targetRate: Int
) throws(ResamplerError) -> [Float] {
    if sourceRate == targetRate { return samples }

    let ratio = Double(targetRate) / Double(sourceRate)
    // A ratio outside libsamplerate's [1/256, 256] gets no buffer; src_simple then names the fault.
    let capacity =
        src_is_valid_ratio(ratio) != 0 ? Int((Double(samples.count) * ratio).rounded(.up)) + 1 : 0
    var output = [Float](repeating: 0, count: capacity)
    var generated = 0
    let status = samples.withUnsafeBufferPointer { input in
        output.withUnsafeMutableBufferPointer { out in
            var data = SRC_DATA()
            data.data_in = input.baseAddress
            data.input_frames = input.count
            data.data_out = out.baseAddress
            data.output_frames = out.count
            data.src_ratio = ratio
            data.end_of_input = 1
            let status = src_simple(&data, Int32(SRC_SINC_BEST_QUALITY), 1)
            generated = data.output_frames_gen
            return status
        }
    }
    guard status == 0 else {
        let reason = src_strerror(status).map { String(cString: $0) } ?? "error \(status)"
        throw ResamplerError(from: sourceRate, to: targetRate, reason: reason)
    }
    output.removeLast(output.count - generated)
    return output
}
