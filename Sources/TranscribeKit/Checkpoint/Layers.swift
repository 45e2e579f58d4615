/// `nn.Linear`: `x @ weight^T + bias`, weight `(out, in)` from `<prefix>.weight`, bias from `<prefix>.bias`.
struct Linear: Sendable {
    let weight: Tensor
    let bias: Tensor?

    init(_ weights: WeightStore, _ prefix: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) throws {
        weight = try weights("\(prefix).weight", shape: [outFeatures, inFeatures])
        self.bias = bias ? try weights("\(prefix).bias", shape: [outFeatures]) : nil
    }

    init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    func callAsFunction(_ x: Matrix) -> Matrix { linear(x, weight: weight, bias: bias) }
}

/// `nn.LayerNorm` over the channels of each frame, from `<prefix>.weight` and `<prefix>.bias`.
struct LayerNorm: Sendable {
    let weight: Tensor
    let bias: Tensor
    let eps: Float

    init(_ weights: WeightStore, _ prefix: String, size: Int, eps: Float) throws {
        weight = try weights("\(prefix).weight", shape: [size])
        bias = try weights("\(prefix).bias", shape: [size])
        self.eps = eps
    }

    func callAsFunction(_ x: Matrix) -> Matrix {
        var y = x
        layerNorm(&y, weight: weight, bias: bias, eps: eps)
        return y
    }
}

/// Multi-head attention from `<prefix>.{q,k,v,out}_proj` (`Wav2Vec2Attention`, `WhisperAttention`;
/// Whisper's key projection has no bias).
struct MultiHeadAttention: Sendable {
    let qProj: Linear
    let kProj: Linear
    let vProj: Linear
    let outProj: Linear
    let numHeads: Int

    init(_ weights: WeightStore, _ prefix: String, dModel: Int, heads: Int, keyBias: Bool = true) throws {
        qProj = try Linear(weights, "\(prefix).q_proj", inFeatures: dModel, outFeatures: dModel)
        kProj = try Linear(weights, "\(prefix).k_proj", inFeatures: dModel, outFeatures: dModel, bias: keyBias)
        vProj = try Linear(weights, "\(prefix).v_proj", inFeatures: dModel, outFeatures: dModel)
        outProj = try Linear(weights, "\(prefix).out_proj", inFeatures: dModel, outFeatures: dModel)
        numHeads = heads
    }

    /// Projections under other names (ViT-style `query`, `key`, `value`, `output.dense`).
    init(qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear, numHeads: Int) {
        self.qProj = qProj
        self.kProj = kProj
        self.vProj = vProj
        self.outProj = outProj
        self.numHeads = numHeads
    }

    /// Self-attention over all rows of `x`: `(frames, d_model)` -> `(frames, d_model)`.
    func callAsFunction(_ x: Matrix) -> Matrix {
        guard x.rows > 0 else { return x }
        return outProj(multiHeadAttention(q: qProj(x), k: kProj(x), v: vProj(x), heads: numHeads))
    }
}

/// PyTorch's default epsilon for `nn.LayerNorm` and `nn.GroupNorm`, which the feature encoder's
/// norms use (they do not take `layer_norm_eps`).
let torchNormEps: Float = 1e-5
