import Foundation

/// `nn.LayerNorm` over the last dimension: each row of `x` to zero mean and unit variance,
/// then scaled by `weight` and shifted by `bias`.
public func layerNorm(_ x: inout Matrix, weight: Tensor, bias: Tensor, eps: Float) {
    let cols = x.cols
    precondition(weight.count == cols && bias.count == cols, "layerNorm: weight must match the row width")
    let gamma = weight.pointer
    let beta = bias.pointer
    x.data.withUnsafeMutableBufferPointer { data in
        Parallel.forEach(x.rows, grain: 64) { rows in
            for row in rows {
                let values = data.baseAddress! + row * cols
                var sum: Float = 0
                for i in 0..<cols { sum += values[i] }
                let mean = sum / Float(cols)
                var squares: Float = 0
                for i in 0..<cols {
                    let d = values[i] - mean
                    squares += d * d
                }
                let inverseStd = 1 / (squares / Float(cols) + eps).squareRoot()
                for i in 0..<cols {
                    values[i] = (values[i] - mean) * inverseStd * gamma[i] + beta[i]
                }
            }
        }
    }
}

/// Per-channel mean and (biased) variance over time of a `(frames, channels)` matrix.
public struct ChannelStatistics: Sendable, Equatable {
    public var mean: [Double]
    public var variance: [Double]

    /// Sums in Double: a channel of a 30 s input has ~100k values.
    public init(of x: Matrix) {
        let (rows, cols) = (x.rows, x.cols)
        mean = [Double](repeating: 0, count: cols)
        variance = [Double](repeating: 0, count: cols)
        guard rows > 0 else { return }
        for row in 0..<rows {
            for c in 0..<cols { mean[c] += Double(x.data[row * cols + c]) }
        }
        for c in 0..<cols { mean[c] /= Double(rows) }
        for row in 0..<rows {
            for c in 0..<cols {
                let d = Double(x.data[row * cols + c]) - mean[c]
                variance[c] += d * d
            }
        }
        for c in 0..<cols { variance[c] /= Double(rows) }
    }

    public init(mean: [Double], variance: [Double]) {
        self.mean = mean
        self.variance = variance
    }

    /// The GroupNorm with these statistics as one map per channel, `x * scale + shift`.
    func affine(weight: Tensor, bias: Tensor, eps: Float) -> (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: mean.count)
        var shift = [Float](repeating: 0, count: mean.count)
        for c in 0..<mean.count {
            let inverseStd = 1 / (variance[c] + Double(eps)).squareRoot()
            scale[c] = Float(inverseStd) * weight.pointer[c]
            shift[c] = bias.pointer[c] - Float(mean[c]) * scale[c]
        }
        return (scale, shift)
    }
}

/// `nn.GroupNorm` with one group per channel, as the first convolution of the "group" feature
/// encoder uses it: each channel (column of the `(frames, channels)` matrix) normalised over time,
/// with the statistics of `x` itself or, when `x` is a slice of a longer input, of the whole.
public func channelNorm(
    _ x: inout Matrix, weight: Tensor, bias: Tensor, eps: Float, statistics: ChannelStatistics? = nil
) {
    let cols = x.cols
    precondition(weight.count == cols && bias.count == cols, "channelNorm: weight must match the channels")
    let (scale, shift) = (statistics ?? ChannelStatistics(of: x)).affine(weight: weight, bias: bias, eps: eps)
    x.data.withUnsafeMutableBufferPointer { data in
        Parallel.forEach(x.rows, grain: 256) { rows in
            for row in rows {
                let values = data.baseAddress! + row * cols
                for c in 0..<cols { values[c] = values[c] * scale[c] + shift[c] }
            }
        }
    }
}

/// Wav2Vec2FeatureExtractor's `do_normalize`: zero mean and unit variance over the whole input,
/// `(x - mean) / sqrt(var + 1e-7)`.
public func zeroMeanUnitVariance(_ samples: [Float], epsilon: Double = 1e-7) -> [Float] {
    guard !samples.isEmpty else { return samples }
    var sum = 0.0
    for s in samples { sum += Double(s) }
    let mean = sum / Double(samples.count)
    var squares = 0.0
    for s in samples {
        let d = Double(s) - mean
        squares += d * d
    }
    let inverseStd = 1 / (squares / Double(samples.count) + epsilon).squareRoot()
    return samples.map { Float((Double($0) - mean) * inverseStd) }
}
