import Foundation

/// The index of the first largest value (as `torch.argmax`); 0 when there is none larger than
/// `-inf`.
func argmax(_ values: some Sequence<Float>) -> Int {
    var best = 0
    var bestValue = -Float.infinity
    for (index, value) in values.enumerated() where value > bestValue {
        best = index
        bestValue = value
    }
    return best
}

/// The indices of the `k` largest values, largest first; ties by index.
func topK(_ values: [Float], _ k: Int) -> [Int] {
    var best: [Int] = []
    for i in values.indices {
        guard best.count < k || values[i] > values[best[best.count - 1]] else { continue }
        var position = best.count
        while position > 0 && values[best[position - 1]] < values[i] { position -= 1 }
        best.insert(i, at: position)
        if best.count > k { best.removeLast() }
    }
    return best
}

/// `log_softmax` of one row: Whisper's next-token distribution.
func logSoftmax(_ logits: [Float]) -> [Float] {
    var out = logits
    out.withUnsafeMutableBufferPointer { logSoftmaxInPlace($0) }
    return out
}

/// `log_softmax` over each row of `(rows, cols)` logits: the CTC emissions from the head's logits.
public func logSoftmax(_ logits: Matrix) -> Matrix {
    var out = logits
    let cols = logits.cols
    out.data.withUnsafeMutableBufferPointer { data in
        for row in 0..<logits.rows {
            logSoftmaxInPlace(UnsafeMutableBufferPointer(rebasing: data[(row * cols)..<((row + 1) * cols)]))
        }
    }
    return out
}

/// `x - log(sum(exp(x)))` in place: each `exp` in Float, the sum in Double; all `-inf` when the
/// largest value is not finite.
private func logSoftmaxInPlace(_ values: UnsafeMutableBufferPointer<Float>) {
    let maximum = values.max() ?? 0
    guard maximum.isFinite else {
        values.update(repeating: -.infinity)
        return
    }
    var sum = 0.0
    for value in values where value > -.infinity { sum += Double(Foundation.exp(value - maximum)) }
    let logSum = maximum + Float(log(sum))
    for i in values.indices { values[i] -= logSum }
}

/// `log(sum(exp(values)))`, stable.
func logSumExp(_ values: some Collection<Float>) -> Float {
    guard let maximum = values.max(), maximum > -.infinity else { return -.infinity }
    var sum = 0.0
    for value in values { sum += exp(Double(value - maximum)) }
    return maximum + Float(log(sum))
}
