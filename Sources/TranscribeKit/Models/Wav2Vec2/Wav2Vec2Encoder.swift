/// The transformer encoder of Wav2Vec2, both layouts: post-norm (`Wav2Vec2Encoder`, base models)
/// and pre-norm (`Wav2Vec2EncoderStableLayerNorm`, `do_stable_layer_norm`, large-lv60 models).
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/wav2vec2/modeling_wav2vec2.py
struct Wav2Vec2Encoder: Sendable {
    let posConvEmbed: Wav2Vec2PositionalConvEmbedding
    let layerNorm: LayerNorm
    let layers: [Wav2Vec2EncoderLayer]
    let doStableLayerNorm: Bool

    init(_ weights: WeightStore, _ prefix: String, config: Wav2Vec2Config) throws {
        posConvEmbed = try Wav2Vec2PositionalConvEmbedding(weights, "\(prefix).pos_conv_embed", config: config)
        layerNorm = try LayerNorm(weights, "\(prefix).layer_norm", size: config.hiddenSize, eps: config.layerNormEps)
        layers = try (0..<config.numHiddenLayers).map {
            try Wav2Vec2EncoderLayer(weights, "\(prefix).layers.\($0)", config: config)
        }
        doStableLayerNorm = config.doStableLayerNorm
    }

    /// `(frames, hidden)` -> `(frames, hidden)`
    func callAsFunction(_ x: Matrix) -> Matrix {
        var last = x
        forEachHiddenState(x) { last = $1 }
        return last
    }

    /// Calls `body` with each of the `num_hidden_layers + 1` hidden states transformers returns
    /// with `output_hidden_states`, in order: the first layer's input, each later layer's input,
    /// and the output (for the pre-norm layout, after the final norm).
    func forEachHiddenState(_ x: Matrix, _ body: (Int, Matrix) -> Void) {
        var h = x
        h += posConvEmbed(x)
        if doStableLayerNorm {
            for (index, layer) in layers.enumerated() {
                body(index, h)
                h = layer.preNorm(h)
            }
            body(layers.count, layerNorm(h))
            return
        }
        h = layerNorm(h)
        for (index, layer) in layers.enumerated() {
            body(index, h)
            h = layer.postNorm(h)
        }
        body(layers.count, h)
    }
}

/// `Wav2Vec2PositionalConvEmbedding`: a grouped convolution over time with weight norm (folded at
/// load), padded by kernel / 2 on both sides; an even kernel yields one extra frame, which is
/// dropped (`Wav2Vec2SamePadLayer`); then `feat_extract_activation`.
struct Wav2Vec2PositionalConvEmbedding: Sendable {
    let conv: Conv1d
    let activation: Activation

    init(_ weights: WeightStore, _ prefix: String, config: Wav2Vec2Config) throws {
        let (hidden, kernel, groups) = (
            config.hiddenSize, config.numConvPosEmbeddings, config.numConvPosEmbeddingGroups
        )
        let shape = [hidden, hidden / groups, kernel]
        let weight: Tensor
        if weights.contains("\(prefix).conv.weight") {
            weight = try weights("\(prefix).conv.weight", shape: shape)
        } else {
            // Legacy `weight_g`/`weight_v` (torch.nn.utils.weight_norm) or the parametrization API's names.
            let legacy = weights.contains("\(prefix).conv.weight_g") || weights.contains("\(prefix).conv.weight_v")
            let (gKey, vKey) =
                legacy
                ? ("\(prefix).conv.weight_g", "\(prefix).conv.weight_v")
                : (
                    "\(prefix).conv.parametrizations.weight.original0",
                    "\(prefix).conv.parametrizations.weight.original1"
                )
            weight = foldWeightNorm(
                g: try weights(gKey, shape: [1, 1, kernel]),
                v: try weights(vKey, shape: shape))
        }
        conv = Conv1d(
            weight: weight, bias: try weights("\(prefix).conv.bias", shape: [hidden]),
            stride: 1, padding: kernel / 2, groups: groups)
        activation = config.featExtractActivation
    }

    /// `(frames, hidden)` -> `(frames, hidden)`
    func callAsFunction(_ x: Matrix) -> Matrix {
        var h = conv(x)
        if h.rows > x.rows {
            h = Matrix(rows: x.rows, cols: h.cols, data: Array(h.data[0..<(x.rows * h.cols)]))
        }
        activation.apply(&h)
        return h
    }
}

/// Weight norm over dim 2 (`weight_norm(conv, dim=2)`): `w[o, i, k] = g[k] v[o, i, k] / ‖v[:, :, k]‖`.
func foldWeightNorm(g: Tensor, v: Tensor) -> Tensor {
    let kernel = v.shape[2]
    let rows = v.count / kernel
    var norms = [Double](repeating: 0, count: kernel)
    for r in 0..<rows {
        for k in 0..<kernel {
            let value = Double(v.pointer[r * kernel + k])
            norms[k] += value * value
        }
    }
    let scale = (0..<kernel).map { Float(Double(g.pointer[$0]) / norms[$0].squareRoot()) }
    return Tensor(
        shape: v.shape,
        storage: FloatBuffer(count: v.count) { w in
            for r in 0..<rows {
                for k in 0..<kernel { w[r * kernel + k] = v.pointer[r * kernel + k] * scale[k] }
            }
        })
}

/// One `encoder.layers.N`: self-attention and feed-forward, each with a residual connection.
struct Wav2Vec2EncoderLayer: Sendable {
    let attention: MultiHeadAttention
    let layerNorm: LayerNorm
    let feedForward: Wav2Vec2FeedForward
    let finalLayerNorm: LayerNorm

    init(_ weights: WeightStore, _ prefix: String, config: Wav2Vec2Config) throws {
        attention = try MultiHeadAttention(
            weights, "\(prefix).attention", dModel: config.hiddenSize, heads: config.numAttentionHeads)
        layerNorm = try LayerNorm(weights, "\(prefix).layer_norm", size: config.hiddenSize, eps: config.layerNormEps)
        feedForward = try Wav2Vec2FeedForward(weights, "\(prefix).feed_forward", config: config)
        finalLayerNorm = try LayerNorm(
            weights, "\(prefix).final_layer_norm", size: config.hiddenSize, eps: config.layerNormEps)
    }

    /// `Wav2Vec2EncoderLayer`: norms after each residual sum.
    func postNorm(_ x: Matrix) -> Matrix {
        var h = attention(x)
        h += x
        h = layerNorm(h)
        var out = feedForward(h)
        out += h
        return finalLayerNorm(out)
    }

    /// `Wav2Vec2EncoderLayerStableLayerNorm`: norms before each block, residuals untouched.
    func preNorm(_ x: Matrix) -> Matrix {
        var h = attention(layerNorm(x))
        h += x
        var out = feedForward(finalLayerNorm(h))
        out += h
        return out
    }
}

/// `Wav2Vec2FeedForward`: `output_dense(act(intermediate_dense(x)))`.
struct Wav2Vec2FeedForward: Sendable {
    let intermediateDense: Linear
    let outputDense: Linear
    let activation: Activation

    init(_ weights: WeightStore, _ prefix: String, config: Wav2Vec2Config) throws {
        intermediateDense = try Linear(
            weights, "\(prefix).intermediate_dense", inFeatures: config.hiddenSize, outFeatures: config.intermediateSize
        )
        outputDense = try Linear(
            weights, "\(prefix).output_dense", inFeatures: config.intermediateSize, outFeatures: config.hiddenSize)
        activation = config.hiddenAct
    }

    /// `(frames, hidden)` -> `(frames, intermediate)` -> `(frames, hidden)`
    func callAsFunction(_ x: Matrix) -> Matrix {
        var h = intermediateDense(x)
        activation.apply(&h)
        return outputDense(h)
    }
}
