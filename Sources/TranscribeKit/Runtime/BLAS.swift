import COpenBLAS

/// The one door to OpenBLAS: matrix products of row-major Float matrices.
///
/// OpenBLAS runs single-threaded; the work is split over threads here (`Parallel`), so that
/// products, elementwise work and attention heads share one set of threads and no OpenBLAS
/// worker spins while the other core is busy with something else.
public enum BLAS {
    /// Uses `count` threads for products and elementwise work from now on.
    public static func setThreads(_ count: Int) {
        _ = singleThreadedKernels
        Parallel.threads = count
    }

    private static let singleThreadedKernels: Void = openblas_set_num_threads(1)

    /// The library, its version and the kernels it picked for this CPU (or `OPENBLAS_CORETYPE`),
    /// e.g. `OpenBLAS 0.3.21, Cooperlake kernels`: what `--version` reports, since the kernels set
    /// the speed.
    public static var description: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return config.split(separator: " ").prefix(2).joined(separator: " ") + ", \(core) kernels"
    }

    /// `c[m, n] = alpha * a[m, k] @ op(b) + beta * c` on the calling thread, where `op(b)` is `b^T`
    /// for a `(n, k)` weight (PyTorch's layout) or `b` for a `(k, n)` matrix. Leading dimensions
    /// are row strides.
    @inline(__always)
    static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        _ = singleThreadedKernels
        // cblas_sgemm refuses shorter strides with a message and computes nothing.
        precondition(lda >= k && ldb >= (transposeB ? k : n) && ldc >= n, "gemm: a row stride is shorter than its row")
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // An empty sum: only the beta term remains (0 with beta 0, whatever `c` held).
            for row in 0..<m { for col in 0..<n { c[row * ldc + col] = beta == 0 ? 0 : beta * c[row * ldc + col] } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
    }

    /// `gemm` over all threads. The product is cut into pieces that depend on the shapes only,
    /// never on the thread count, and each piece is one sgemm, so every output value is the same
    /// sum in the same order for any number of threads. A piece packs its part of one operand and
    /// all of the other, so the cut goes across the larger one (rows of `a` when `m >= n`, else
    /// columns of `b`) and only the smaller is packed again. Two pieces, or more for big products
    /// (about 2^31 multiply-adds each, an even count), on multiples of 16 rows or columns; one for
    /// a product too small to be worth a second thread (under 2^19 multiply-adds).
    ///
    /// With `bias` (`n` values), `c = alpha * a @ op(b) + bias` in every row: each piece writes the
    /// bias into its own part of `c` just before its product adds to it (beta 1), so that part is
    /// written by the thread that computes it while it is in that core's cache, and `c` may come
    /// uninitialised.
    static func parallelGemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0, bias: UnsafePointer<Float>? = nil
    ) {
        precondition(bias == nil || beta == 0, "parallelGemm: a bias replaces what c held (beta 0)")
        let work = Double(m) * Double(n) * Double(k)
        let cutRows = m >= n
        let size = cutRows ? m : n
        let pieces = work < Double(1 << 19) ? 1 : min(2 * Int((work / Double(1 << 32)).rounded(.up)), size / 16)
        func edge(_ piece: Int) -> Int { piece == pieces ? size : (size * piece / pieces) / 16 * 16 }
        Parallel.forEach(max(1, pieces), grain: 1) { range in
            for piece in range {
                let (first, last) = pieces <= 1 ? (0, size) : (edge(piece), edge(piece + 1))
                let (rows, columns) = cutRows ? (first..<last, 0..<n) : (0..<m, first..<last)
                if let bias {
                    for row in rows {
                        (c + row * ldc + columns.lowerBound).update(
                            from: bias + columns.lowerBound, count: columns.count)
                    }
                }
                gemm(
                    m: rows.count, n: columns.count, k: k, a: a + rows.lowerBound * lda, lda: lda,
                    b: transposeB ? b + columns.lowerBound * ldb : b + columns.lowerBound, ldb: ldb,
                    transposeB: transposeB, c: c + rows.lowerBound * ldc + columns.lowerBound, ldc: ldc,
                    alpha: alpha, beta: bias == nil ? beta : 1)
            }
        }
    }
}

extension BLAS {
    /// Rows of `a` at or below which `linear` takes the narrow product: sgemm over the whole
    /// weight copies (packs) all of it on each call, which for a decoder's few rows against a large
    /// weight (Whisper's 51864-token vocabulary, 80 MB for tiny) costs more than the product.
    static let narrowRows = 8

    /// Rows of `b` in one sgemm of the narrow product: 128 rows of 384 or 512 features (192 or
    /// 256 KB) stay in the core's cache while sgemm packs and multiplies them.
    static let narrowBlock = 128

    /// `c[m, n] = a[m, k] @ b[n, k]^T + beta * c` for few rows of `a` (a decoder step, one row per
    /// beam), reading `b` from memory once for all of them: one sgemm per block of `narrowBlock`
    /// rows of `b`, so that each block is packed while it is still in cache (one pass over memory,
    /// where a matrix-vector product per row would make `m` passes and one sgemm over all of `b`
    /// two). The blocks go over `threads` threads in stretches cut by the shapes alone, so every
    /// value is the same sum for any thread count. A stretch is at least 2^16 weights (256 KB), so
    /// that even a 384 x 384 projection goes over two threads: reading its weight takes longer
    /// than handing half of it to a spinning worker.
    static func narrowProduct(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
        beta: Float, threads: Int = Parallel.threads
    ) {
        let blocks = (n + narrowBlock - 1) / narrowBlock
        let stretches = max(1, min(16, n * k / (1 << 16), blocks))
        Parallel.forEach(stretches, grain: 1, threads: threads) { range in
            for stretch in range {
                for block in (blocks * stretch / stretches)..<(blocks * (stretch + 1) / stretches) {
                    let first = block * narrowBlock, count = min(narrowBlock, n - first)
                    gemm(
                        m: m, n: count, k: k, a: a, lda: k, b: b + first * k, ldb: k, transposeB: true,
                        c: c + first, ldc: n, beta: beta)
                }
            }
        }
    }
}

/// `y = x @ weight^T + bias` with a PyTorch `(out, in)` weight: a `nn.Linear`.
public func linear(_ x: Matrix, weight: Tensor, bias: Tensor?) -> Matrix {
    let outFeatures = weight.shape[0]
    precondition(weight.shape[1] == x.cols, "linear: input has \(x.cols) features, weight expects \(weight.shape[1])")
    guard x.rows > BLAS.narrowRows else {
        // The bias rows, which the product adds to (beta 1); zeros where there is no bias.
        var y =
            bias.map { Matrix(rows: x.rows, repeating: $0.pointer, cols: outFeatures) }
            ?? Matrix(zeros: x.rows, outFeatures)
        guard x.rows > 0 else { return y }
        y.data.withUnsafeMutableBufferPointer { out in
            x.data.withUnsafeBufferPointer { input in
                BLAS.narrowProduct(
                    m: x.rows, n: outFeatures, k: x.cols, a: input.baseAddress!, b: weight.pointer,
                    c: out.baseAddress!, beta: bias == nil ? 0 : 1)
            }
        }
        return y
    }
    // Every value is written by the product's pieces, the bias first where there is one.
    var y = Matrix(uninitializedRows: x.rows, outFeatures)
    y.data.withUnsafeMutableBufferPointer { out in
        x.data.withUnsafeBufferPointer { input in
            BLAS.parallelGemm(
                m: x.rows, n: outFeatures, k: x.cols,
                a: input.baseAddress!, lda: x.cols,
                b: weight.pointer, ldb: x.cols, transposeB: true,
                c: out.baseAddress!, ldc: outFeatures, bias: bias?.pointer)
        }
    }
    return y
}
