/// Multi-head scaled dot-product attention: for each head, `softmax(q k^T / sqrt(headDim)) v`.
///
/// `q` is `(queries, heads * headDim)` and `k`, `v` are `(keys, heads * headDim)`; head `h` is
/// columns `h * headDim ..< (h + 1) * headDim` of each. With `causalOffset`, query `i` sees keys
/// `0 ... causalOffset + i` only (a decoder's new tokens after `causalOffset` cached ones).
public func multiHeadAttention(q: Matrix, k: Matrix, v: Matrix, heads: Int, causalOffset: Int? = nil) -> Matrix {
    precondition(q.cols == k.cols && k.cols == v.cols && k.rows == v.rows && q.cols % heads == 0,
                 "attention: q, k and v must share heads * headDim columns, k and v their rows")
    var context = Matrix(zeros: q.rows, q.cols)
    guard q.rows > 0, k.rows > 0 else { return context }
    let (queries, keys, width) = (q.rows, k.rows, q.cols)
    q.data.withUnsafeBufferPointer { q in
        k.data.withUnsafeBufferPointer { k in
            v.data.withUnsafeBufferPointer { v in
                context.data.withUnsafeMutableBufferPointer { context in
                    multiHeadAttention(
                        q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!, context: context.baseAddress!,
                        queries: queries, keys: keys, width: width, heads: heads, causalOffset: causalOffset)
                }
            }
        }
    }
    return context
}

/// The same over raw row-major buffers whose rows are all `width` long. Heads run in parallel
/// when the score matrices are big enough to be worth a thread, each head from scores to context
/// on one thread, so the result does not depend on the thread count.
func multiHeadAttention(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, context: UnsafeMutablePointer<Float>,
    queries: Int, keys: Int, width: Int, heads: Int, causalOffset: Int? = nil
) {
    let headDim = width / heads
    let scaling = 1 / Float(headDim).squareRoot()
    let grain = queries * keys >= 16_384 ? 1 : heads
    Parallel.forEach(heads, grain: grain) { headRange in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: queries * keys)
        defer { scores.deallocate() }
        for head in headRange {
            let column = head * headDim
            // (queries, headDim) @ (keys, headDim)^T * scaling -> (queries, keys)
            BLAS.gemm(
                m: queries, n: keys, k: headDim,
                a: q + column, lda: width, b: k + column, ldb: width, transposeB: true,
                c: scores, ldc: keys, alpha: scaling)
            if let causalOffset {
                for row in 0..<queries {
                    let visible = min(keys, causalOffset + row + 1)
                    softmaxRows(scores + row * keys, rows: 1, cols: visible, stride: keys)
                    (scores + row * keys + visible).update(repeating: 0, count: keys - visible)
                }
            } else {
                softmaxRows(scores, rows: queries, cols: keys, stride: keys)
            }
            // (queries, keys) @ (keys, headDim) -> this head's context columns
            BLAS.gemm(
                m: queries, n: headDim, k: keys,
                a: scores, lda: keys, b: v + column, ldb: width, transposeB: false,
                c: context + column, ldc: width)
        }
    }
}
