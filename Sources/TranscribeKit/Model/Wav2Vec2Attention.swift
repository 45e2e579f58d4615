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
    func callAsFunction(_ x: Matrix) -> Matrix {
        let (frames, hidden) = (x.rows, x.cols)
        guard frames > 0 else { return x }
        let q = qProj(x), k = kProj(x), v = vProj(x)
        let scaling = 1 / Float(headDim).squareRoot()
        var context = Matrix(zeros: frames, hidden)
        var scores = [Float](repeating: 0, count: frames * frames)
        q.data.withUnsafeBufferPointer { q in
            k.data.withUnsafeBufferPointer { k in
                v.data.withUnsafeBufferPointer { v in
                    scores.withUnsafeMutableBufferPointer { scores in
                        context.data.withUnsafeMutableBufferPointer { context in
                            for head in 0..<numHeads {
                                let column = head * headDim
                                // (frames, headDim) @ (frames, headDim)^T * scaling -> (frames, frames)
                                BLAS.gemm(
                                    m: frames, n: frames, k: headDim,
                                    a: q.baseAddress! + column, lda: hidden,
                                    b: k.baseAddress! + column, ldb: hidden, transposeB: true,
                                    c: scores.baseAddress!, ldc: frames, alpha: scaling)
                                softmaxRows(scores.baseAddress!, rows: frames, cols: frames, stride: frames)
                                // (frames, frames) @ (frames, headDim) -> context columns of this head
                                BLAS.gemm(
                                    m: frames, n: headDim, k: frames,
                                    a: scores.baseAddress!, lda: frames,
                                    b: v.baseAddress! + column, ldb: hidden, transposeB: false,
                                    c: context.baseAddress! + column, ldc: hidden)
                            }
                        }
                    }
                }
            }
        }
        return outProj(context)
    }
}
