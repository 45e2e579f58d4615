import Foundation

/// Where each text token of a window was heard: dynamic time warping over the cross-attention of
/// the alignment heads, as openai-whisper's `timing.py` (`find_alignment`) and CTranslate2's
/// `Whisper.align`, which faster-whisper calls, compute it.
struct WhisperAlignment {
    /// Per row of the attention matrix kept (the token before each text token, then each text
    /// token: `text.count + 1` rows), the first time step the warping path reaches it, in
    /// encoder frames (20 ms each).
    let jumpFrames: [Int]
    /// Per text token, the probability the decoder gave it, after the tokens before it.
    let tokenProbabilities: [Double]

    /// The median filter's width over time.
    static let medianFilterWidth = 7

    /// `weights`: per alignment head, `(rows, encoder frames)` cross-attention logits of every
    /// position of the decoder input (the start sequence, `<|notimestamps|>`, the text tokens,
    /// `<|endoftext|>`); `keptRows` are the rows that predict the text tokens and the end
    /// (`<|notimestamps|>` to the last text token); only the first `frames` columns (the window's
    /// audio, half its log-mel frames) are used. As CTranslate2 computes it, in Float.
    init(weights: [Matrix], keptRows: Range<Int>, frames: Int, tokenProbabilities: [Double]) {
        self.tokenProbabilities = tokenProbabilities
        guard let first = weights.first, !keptRows.isEmpty, frames > 0 else {
            jumpFrames = []
            return
        }
        let (rows, columns) = (first.rows, min(frames, first.cols))
        // Each head: softmax over the window's frames; each frame normalised over all rows (mean 0,
        // variance 1, one pass); median-filtered along time. Then the heads' mean.
        var matrix = [Float](repeating: 0, count: rows * columns)
        for head in weights {
            var w = [Float](repeating: 0, count: rows * columns)
            for row in 0..<rows {
                var maximum = -Float.infinity
                for column in 0..<columns { maximum = max(maximum, head[row, column]) }
                var sum: Float = 0
                for column in 0..<columns {
                    let e = Foundation.exp(head[row, column] - maximum)
                    w[row * columns + column] = e
                    sum += e
                }
                for column in 0..<columns { w[row * columns + column] /= sum }
            }
            for column in 0..<columns {
                var (sum, squares): (Float, Float) = (0, 0)
                for row in 0..<rows {
                    let x = w[row * columns + column]
                    sum += x
                    squares += x * x
                }
                let mean = sum / Float(rows)
                let variance = max(squares / Float(rows) - mean * mean, 0)
                let inverse = 1 / variance.squareRoot()
                for row in 0..<rows { w[row * columns + column] = (w[row * columns + column] - mean) * inverse }
            }
            let filtered = Self.medianFiltered(w, rows: rows, columns: columns, width: Self.medianFilterWidth)
            for index in matrix.indices { matrix[index] += filtered[index] }
        }
        for index in matrix.indices { matrix[index] /= Float(weights.count) }
        let kept = Array(matrix[(keptRows.lowerBound * columns)..<(keptRows.upperBound * columns)])
        let path = Self.dynamicTimeWarping(cost: kept.map { -$0 }, rows: keptRows.count, columns: columns)
        var jumps: [Int] = []
        var previous = -1
        for (row, column) in path where row != previous {
            jumps.append(column)
            previous = row
        }
        jumpFrames = jumps
    }

    /// Each row's median over a window of `width` along the columns, the edges mirrored without
    /// repeating the edge value (PyTorch's `reflect` padding); rows too short to mirror are kept.
    static func medianFiltered(_ x: [Float], rows: Int, columns: Int, width: Int) -> [Float] {
        let pad = width / 2
        guard columns > pad else { return x }
        var out = x
        var window = [Float](repeating: 0, count: width)
        for row in 0..<rows {
            for column in 0..<columns {
                for offset in 0..<width {
                    var c = column + offset - pad
                    if c < 0 { c = -c }
                    if c >= columns { c = 2 * (columns - 1) - c }
                    window[offset] = x[row * columns + c]
                }
                window.sort()
                out[row * columns + column] = window[pad]
            }
        }
        return out
    }

    /// The cheapest monotonic path through `cost` (`(rows, columns)`) from the first cell to the
    /// last, stepping down, right or diagonally; ties go to the diagonal, then down, then right,
    /// as the reference's loop does. Returns the cells of the path in order.
    static func dynamicTimeWarping(cost: [Float], rows: Int, columns: Int) -> [(row: Int, column: Int)] {
        let width = columns + 1
        var total = [Float](repeating: .infinity, count: (rows + 1) * width)
        var trace = [Int8](repeating: -1, count: (rows + 1) * width)
        total[0] = 0
        for j in 1...columns {
            for i in 1...rows {
                let c0 = total[(i - 1) * width + j - 1]
                let c1 = total[(i - 1) * width + j]
                let c2 = total[i * width + j - 1]
                let (c, t): (Float, Int8) =
                    c0 < c1 && c0 < c2 ? (c0, 0) : c1 < c0 && c1 < c2 ? (c1, 1) : (c2, 2)
                total[i * width + j] = cost[(i - 1) * columns + j - 1] + c
                trace[i * width + j] = t
            }
        }
        for j in 0...columns { trace[j] = 2 }
        for i in 0...rows { trace[i * width] = 1 }
        var (i, j) = (rows, columns)
        var path: [(row: Int, column: Int)] = []
        while i > 0 || j > 0 {
            path.append((i - 1, j - 1))
            switch trace[i * width + j] {
            case 0: (i, j) = (i - 1, j - 1)
            case 1: i -= 1
            default: j -= 1
            }
        }
        return path.reversed()
    }
}
