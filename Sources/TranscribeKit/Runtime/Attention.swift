/// Multi-head scaled dot-product attention: for each head, `softmax(q k^T / sqrt(headDim)) v`.
///
/// `q` is `(queries, heads * headDim)` and `k`, `v` are `(keys, heads * headDim)`; head `h` is
/// columns `h * headDim ..< (h + 1) * headDim` of each. With `causalOffset`, query `i` sees keys
/// `0 ... causalOffset + i` only (a decoder's new tokens after `causalOffset` cached ones).
public func multiHeadAttention(q: Matrix, k: Matrix, v: Matrix, heads: Int, causalOffset: Int? = nil) -> Matrix {
    precondition(
        q.cols == k.cols && k.cols == v.cols && k.rows == v.rows && q.cols % heads == 0,
        "attention: q, k and v must share heads * headDim columns, k and v their rows")
    guard q.rows > 0, k.rows > 0 else { return Matrix(zeros: q.rows, q.cols) }
    // Every value is written: each head's product with `v` fills its columns of its query rows.
    var context = Matrix(uninitializedRows: q.rows, q.cols)
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

/// The same over raw row-major buffers whose rows are all `width` long. The work goes in tasks of
/// one head and a block of up to `queryBlock` queries, whose scores (64 x keys) stay in the core's
/// cache from their product through the softmax to the product with `v`. Tasks run in parallel
/// when the scores, or the keys and values they read, are big enough to be worth a thread (a
/// decoder step's few queries over Whisper's 1500 encoder frames read megabytes of cached keys and
/// values); each output row is computed by one task in the same order whatever the blocks and
/// threads, so the result does not depend on them.
func multiHeadAttention(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, context: UnsafeMutablePointer<Float>,
    queries: Int, keys: Int, width: Int, heads: Int, causalOffset: Int? = nil
) {
    let headDim = width / heads
    let scaling = 1 / Float(headDim).squareRoot()
    let queryBlock = 64
    let blocks = (queries + queryBlock - 1) / queryBlock
    let grain = queries * keys >= 16_384 || keys * width >= 1 << 18 ? 1 : heads * blocks
    Parallel.forEach(heads * blocks, grain: grain) { tasks in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: min(queryBlock, queries) * keys)
        defer { scores.deallocate() }
        for task in tasks {
            let (head, block) = (task / blocks, task % blocks)
            let column = head * headDim
            let first = block * queryBlock
            let rows = min(queryBlock, queries - first)
            // (rows, headDim) @ (keys, headDim)^T * scaling -> (rows, keys)
            BLAS.gemm(
                m: rows, n: keys, k: headDim,
                a: q + first * width + column, lda: width, b: k + column, ldb: width, transposeB: true,
                c: scores, ldc: keys, alpha: scaling)
            if let causalOffset {
                for row in 0..<rows {
                    let visible = min(keys, causalOffset + first + row + 1)
                    softmaxRows(scores + row * keys, rows: 1, cols: visible, stride: keys)
                    (scores + row * keys + visible).update(repeating: 0, count: keys - visible)
                }
            } else {
                softmaxRows(scores, rows: rows, cols: keys, stride: keys)
            }
            // (rows, keys) @ (keys, headDim) -> this head's context columns of those rows
            BLAS.gemm(
                m: rows, n: headDim, k: keys,
                a: scores, lda: keys, b: v + column, ldb: width, transposeB: false,
                c: context + first * width + column, ldc: width)
        }
    }
}
