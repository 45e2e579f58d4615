import Foundation

/// Softmax of each row of a `(rows, cols)` block with row stride `stride`, in place, on the
/// calling thread (attention calls it once per head, heads in parallel).
func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int) {
    for row in 0..<rows {
        let values = UnsafeMutableBufferPointer(start: x + row * stride, count: cols)
        let maximum = FastMath.maximum(values)
        let inverse = 1 / FastMath.mapAndSum(values, ShiftedExp(shift: Lanes(repeating: maximum)))
        FastMath.map(values, Scale(factor: Lanes(repeating: inverse)))
    }
}

/// `exp(x - shift)`.
private struct ShiftedExp: LaneFunction {
    let shift: Lanes
    @inline(__always) func callAsFunction(_ x: Lanes) -> Lanes { FastMath.exp(x - shift) }
}

/// `x * factor`.
private struct Scale: LaneFunction {
    let factor: Lanes
    @inline(__always) func callAsFunction(_ x: Lanes) -> Lanes { x * factor }
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
