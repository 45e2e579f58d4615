import Foundation

/// Softmax of each row of a `(rows, cols)` block with row stride `stride`, in place.
func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int) {
    for row in 0..<rows {
        let values = x + row * stride
        var maximum = -Float.infinity
        for i in 0..<cols { maximum = max(maximum, values[i]) }
        var sum: Float = 0
        for i in 0..<cols {
            let e = Foundation.exp(values[i] - maximum)
            values[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<cols { values[i] *= inverse }
    }
}

/// `log_softmax` over each row: the CTC emissions from the head's logits.
public func logSoftmax(_ logits: Matrix) -> Matrix {
    var out = logits
    let cols = logits.cols
    out.data.withUnsafeMutableBufferPointer { data in
        for row in 0..<logits.rows {
            let values = data.baseAddress! + row * cols
            var maximum = -Float.infinity
            for i in 0..<cols { maximum = max(maximum, values[i]) }
            var sum: Double = 0
            for i in 0..<cols { sum += Double(Foundation.exp(values[i] - maximum)) }
            let logSum = maximum + Float(Foundation.log(sum))
            for i in 0..<cols { values[i] -= logSum }
        }
    }
    return out
}
