import Foundation

/// Triangular mel filters with Slaney's mel scale and area normalisation: transformers'
/// `audio_utils.mel_filter_bank(..., norm="slaney", mel_scale="slaney")` (librosa's default),
/// computed in Double as transformers does and stored as Float.
public struct MelFilterBank: Sendable {
    /// `(frequencyBins, melBins)`: the weight of each frequency bin in each mel band.
    public let filters: Matrix

    public var frequencyBins: Int { filters.rows }
    public var melBins: Int { filters.cols }

    /// Filters whose centres are `melBins` points evenly spaced in mel between `minFrequency`
    /// and `maxFrequency` (Hz), over `frequencyBins` bins evenly spaced from 0 to
    /// `samplingRate / 2` (integer division, as transformers).
    public init(frequencyBins: Int, melBins: Int, minFrequency: Double, maxFrequency: Double, samplingRate: Int) {
        precondition(
            frequencyBins >= 2 && melBins > 0, "MelFilterBank needs 2 or more frequency bins and 1 or more mel bins")
        precondition(minFrequency <= maxFrequency, "MelFilterBank: minFrequency must not exceed maxFrequency")
        // (melBins + 2,): band edges, in Hz.
        let edges = linearlySpaced(
            from: Self.hertzToMel(minFrequency), to: Self.hertzToMel(maxFrequency), count: melBins + 2
        )
        .map(Self.melToHertz)
        // (frequencyBins,): bin centres, in Hz.
        let frequencies = linearlySpaced(from: 0, to: Double(samplingRate / 2), count: frequencyBins)
        var filters = Matrix(zeros: frequencyBins, melBins)
        for mel in 0..<melBins {
            let (lower, centre, upper) = (edges[mel], edges[mel + 1], edges[mel + 2])
            // Slaney: each triangle is scaled to unit area, 2 / (upper - lower).
            let normalisation = 2 / (upper - lower)
            for bin in 0..<frequencyBins {
                let rising = (frequencies[bin] - lower) / (centre - lower)
                let falling = (upper - frequencies[bin]) / (upper - centre)
                filters[bin, mel] = Float(max(0, min(rising, falling)) * normalisation)
            }
        }
        self.filters = filters
    }

    /// `(frames, frequencyBins) @ (frequencyBins, melBins) -> (frames, melBins)`.
    public func callAsFunction(_ power: Matrix) -> Matrix {
        precondition(
            power.cols == frequencyBins, "MelFilterBank: input has \(power.cols) bins, expected \(frequencyBins)")
        var mel = Matrix(zeros: power.rows, melBins)
        guard power.rows > 0 else { return mel }
        power.data.withUnsafeBufferPointer { a in
            filters.data.withUnsafeBufferPointer { b in
                mel.data.withUnsafeMutableBufferPointer { c in
                    BLAS.parallelGemm(
                        m: power.rows, n: melBins, k: frequencyBins,
                        a: a.baseAddress!, lda: frequencyBins,
                        b: b.baseAddress!, ldb: melBins, transposeB: false,
                        c: c.baseAddress!, ldc: melBins)
                }
            }
        }
        return mel
    }

    /// Slaney's scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above
    /// (27 mels per factor 6.4).
    static func hertzToMel(_ hertz: Double) -> Double {
        hertz >= 1000 ? 15 + log(hertz / 1000) * (27 / log(6.4)) : 3 * hertz / 200
    }

    static func melToHertz(_ mel: Double) -> Double {
        mel >= 15 ? 1000 * exp(log(6.4) / 27 * (mel - 15)) : 200 * mel / 3
    }
}

/// `numpy.linspace(start, stop, count)`: `start + i * step`, the last point exactly `stop`.
private func linearlySpaced(from start: Double, to stop: Double, count: Int) -> [Double] {
    guard count > 1 else { return [start] }
    let step = (stop - start) / Double(count - 1)
    return (0..<count).map { $0 == count - 1 ? stop : start + Double($0) * step }
}
