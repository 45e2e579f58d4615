import COpenBLAS

/// The one door to OpenBLAS: matrix products of row-major Float matrices.
public enum BLAS {
    /// Sets the number of threads OpenBLAS uses for every later product.
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// `c[m, n] = alpha * a[m, k] @ op(b) + beta * c`, where `op(b)` is `b^T` for a `(n, k)`
    /// weight (PyTorch's layout) or `b` for a `(k, n)` matrix. Leading dimensions are row strides.
    @inline(__always)
    static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // An empty sum: only the beta term remains.
            for row in 0..<m { for col in 0..<n { c[row * ldc + col] *= beta } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
    }
}

/// `y = x @ weight^T + bias` with a PyTorch `(out, in)` weight: a `nn.Linear`.
public func linear(_ x: Matrix, weight: Tensor, bias: Tensor?) -> Matrix {
    let outFeatures = weight.shape[0]
    precondition(weight.shape[1] == x.cols, "linear: input has \(x.cols) features, weight expects \(weight.shape[1])")
    var y = Matrix(zeros: x.rows, outFeatures)
    guard x.rows > 0 else { return y }
    y.data.withUnsafeMutableBufferPointer { out in
        if let bias {
            for row in 0..<x.rows {
                (out.baseAddress! + row * outFeatures).update(from: bias.pointer, count: outFeatures)
            }
        }
        x.data.withUnsafeBufferPointer { input in
            BLAS.gemm(
                m: x.rows, n: outFeatures, k: x.cols,
                a: input.baseAddress!, lda: x.cols,
                b: weight.pointer, ldb: x.cols, transposeB: true,
                c: out.baseAddress!, ldc: outFeatures,
                beta: bias == nil ? 0 : 1)
        }
    }
    return y
}
