/// `Wav2Vec2Attention`: multi-head self-attention over all frames (no mask: one unpadded input).
struct Wav2Vec2Attention: Sendable {
    let qProj: Linear
    let kProj: Linear
    let vProj: Linear
    let outProj: Linear
    let numHeads: Int
    let headDim: Int

    init(_ weights: WeightStore, _ prefix: String, config: Wav2Vec2Config) throws {
        let hidden = config.hiddenSize
        qProj = try Linear(weights, "\(prefix).q_proj", inFeatures: hidden, outFeatures: hidden)
        kProj = try Linear(weights, "\(prefix).k_proj", inFeatures: hidden, outFeatures: hidden)
        vProj = try Linear(weights, "\(prefix).v_proj", inFeatures: hidden, outFeatures: hidden)
        outProj = try Linear(weights, "\(prefix).out_proj", inFeatures: hidden, outFeatures: hidden)
        numHeads = config.numAttentionHeads
        headDim = hidden / numHeads
    }

    /// `(frames, hidden)` -> `(frames, hidden)`; head `h` is columns `h * headDim ..< (h + 1) * headDim`.
    /// Heads run in parallel, each on one thread from scores to context.
    func callAsFunction(_ x: Matrix) -> Matrix {
        let (frames, hidden) = (x.rows, x.cols)
        guard frames > 0 else { return x }
        let q = qProj(x), k = kProj(x), v = vProj(x)
        let scaling = 1 / Float(headDim).squareRoot()
        var context = Matrix(zeros: frames, hidden)
        q.data.withUnsafeBufferPointer { q in
            k.data.withUnsafeBufferPointer { k in
                v.data.withUnsafeBufferPointer { v in
                    context.data.withUnsafeMutableBufferPointer { context in
                        let (q, k, v, context) = (q.baseAddress!, k.baseAddress!, v.baseAddress!, context.baseAddress!)
                        Parallel.forEach(numHeads, grain: 1) { heads in
                            let scores = UnsafeMutablePointer<Float>.allocate(capacity: frames * frames)
                            defer { scores.deallocate() }
                            for head in heads {
                                let column = head * headDim
                                // (frames, headDim) @ (frames, headDim)^T * scaling -> (frames, frames)
                                BLAS.gemm(
                                    m: frames, n: frames, k: headDim,
                                    a: q + column, lda: hidden, b: k + column, ldb: hidden, transposeB: true,
                                    c: scores, ldc: frames, alpha: scaling)
                                softmaxRows(scores, rows: frames, cols: frames, stride: frames)
                                // (frames, frames) @ (frames, headDim) -> this head's context columns
                                BLAS.gemm(
                                    m: frames, n: headDim, k: frames,
                                    a: scores, lda: frames, b: v + column, ldb: hidden, transposeB: false,
                                    c: context + column, ldc: hidden)
                            }
                        }
                    }
                }
            }
        }
        return outProj(context)
    }
}
