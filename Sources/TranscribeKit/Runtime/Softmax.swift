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
