/// A dense row-major matrix of Float: `data[row * cols + col]`.
///
/// Activations flow through the model as `(frames, channels)` matrices, time-major, so a frame's
/// features are contiguous and a linear layer is one sgemm over all frames.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var data: [Float]

    public init(rows: Int, cols: Int, data: [Float]) {
        precondition(data.count == rows * cols, "Matrix data must hold rows * cols values")
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    public init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, data: [Float](repeating: 0, count: rows * cols))
    }

    /// A matrix for a kernel that writes every value before any is read (a product with beta 0, a
    /// loop that stores each output): no pass that zeroes it first, so its pages are first
    /// touched by the threads that compute them.
    init(uninitializedRows rows: Int, _ cols: Int) {
        let data = [Float](unsafeUninitializedCapacity: rows * cols) { _, count in count = rows * cols }
        self.init(rows: rows, cols: cols, data: data)
    }

    /// Each row a copy of `row` (`cols` values): a linear layer's output before the product adds
    /// to it, written once instead of zeroed and then written.
    init(rows: Int, repeating row: UnsafePointer<Float>, cols: Int) {
        let data = [Float](unsafeUninitializedCapacity: rows * cols) { buffer, count in
            // No storage only when there is nothing to write.
            if let base = buffer.baseAddress {
                for index in 0..<rows { (base + index * cols).initialize(from: row, count: cols) }
            }
            count = rows * cols
        }
        self.init(rows: rows, cols: cols, data: data)
    }

    public subscript(row: Int, col: Int) -> Float {
        get { data[row * cols + col] }
        set { data[row * cols + col] = newValue }
    }

    /// The values of one row.
    public func row(_ index: Int) -> ArraySlice<Float> {
        data[(index * cols)..<((index + 1) * cols)]
    }

    /// Adds `other` elementwise (a residual connection).
    public static func += (lhs: inout Matrix, rhs: Matrix) {
        precondition(lhs.rows == rhs.rows && lhs.cols == rhs.cols, "Matrix shapes must match")
        lhs.data.withUnsafeMutableBufferPointer { l in
            rhs.data.withUnsafeBufferPointer { r in
                for i in 0..<l.count { l[i] += r[i] }
            }
        }
    }
}
