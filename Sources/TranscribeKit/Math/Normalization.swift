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

/// `nn.GroupNorm` with one group per channel, as the first convolution of the "group" feature
/// encoder uses it: each channel (column of the `(frames, channels)` matrix) is normalised over time.
public func channelNorm(_ x: inout Matrix, weight: Tensor, bias: Tensor, eps: Float) {
    let (rows, cols) = (x.rows, x.cols)
    precondition(weight.count == cols && bias.count == cols, "channelNorm: weight must match the channels")
    guard rows > 0 else { return }
    // Sums in Double: a channel of a 30 s input has ~100k values.
    var mean = [Double](repeating: 0, count: cols)
    var variance = [Double](repeating: 0, count: cols)
    x.data.withUnsafeMutableBufferPointer { data in
        for row in 0..<rows {
            let values = data.baseAddress! + row * cols
            for c in 0..<cols { mean[c] += Double(values[c]) }
        }
        for c in 0..<cols { mean[c] /= Double(rows) }
        for row in 0..<rows {
            let values = data.baseAddress! + row * cols
            for c in 0..<cols {
                let d = Double(values[c]) - mean[c]
                variance[c] += d * d
            }
        }
        var scale = [Float](repeating: 0, count: cols)
        var shift = [Float](repeating: 0, count: cols)
        for c in 0..<cols {
            let inverseStd = 1 / (variance[c] / Double(rows) + Double(eps)).squareRoot()
            scale[c] = Float(inverseStd) * weight.pointer[c]
            shift[c] = bias.pointer[c] - Float(mean[c]) * scale[c]
        }
        for row in 0..<rows {
            let values = data.baseAddress! + row * cols
            for c in 0..<cols { values[c] = values[c] * scale[c] + shift[c] }
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
