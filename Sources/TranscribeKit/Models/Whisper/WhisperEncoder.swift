/// Whisper's audio encoder: two convolutions (the second halves the frame rate), sinusoidal
/// positions, pre-norm transformer layers and a final layer norm.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/whisper/modeling_whisper.py (`WhisperEncoder`)
struct WhisperEncoder: Sendable {
    let conv1: Conv1d
    let conv2: Conv1d
    /// `embed_positions.weight`: `(max_source_positions, d_model)`.
    let embedPositions: Tensor
    let layers: [WhisperEncoderLayer]
    let layerNorm: LayerNorm
    let activation: Activation

    init(_ weights: WeightStore, _ prefix: String, config: WhisperConfig) throws {
        let d = config.dModel
        conv1 = Conv1d(
            weight: try weights("\(prefix).conv1.weight", shape: [d, config.numMelBins, 3]),
            bias: try weights("\(prefix).conv1.bias", shape: [d]), stride: 1, padding: 1)
        conv2 = Conv1d(
            weight: try weights("\(prefix).conv2.weight", shape: [d, d, 3]),
            bias: try weights("\(prefix).conv2.bias", shape: [d]), stride: 2, padding: 1)
        embedPositions = try weights("\(prefix).embed_positions.weight", shape: [config.maxSourcePositions, d])
        layers = try (0..<config.encoderLayers).map {
            try WhisperEncoderLayer(weights, "\(prefix).layers.\($0)", config: config)
        }
        layerNorm = try LayerNorm(weights, "\(prefix).layer_norm", size: d, eps: torchNormEps)
        activation = config.activationFunction
    }

    /// Log-mel frames the encoder takes: twice its positions (3000 for 30 s).
    var inputFrames: Int { embedPositions.shape[0] * conv2.stride }

    /// `(inputFrames, num_mel_bins)` log-mel -> `(max_source_positions, d_model)`
    func callAsFunction(_ features: Matrix) -> Matrix {
        var h = conv1(features)
        activation.apply(&h)
        h = conv2(h)
        activation.apply(&h)
        let positions = min(h.rows, embedPositions.shape[0])
        h.data.withUnsafeMutableBufferPointer { h in
            for i in 0..<(positions * embedPositions.shape[1]) { h[i] += embedPositions.pointer[i] }
        }
        for layer in layers { h = layer(h) }
        return layerNorm(h)
    }
}

/// `WhisperEncoderLayer`: `h = x + selfAttn(selfAttnLayerNorm(x)); h + fc2(act(fc1(finalLayerNorm(h))))`.
struct WhisperEncoderLayer: Sendable {
    let selfAttn: MultiHeadAttention
    let selfAttnLayerNorm: LayerNorm
    let feedForward: WhisperFeedForward
    let finalLayerNorm: LayerNorm

    init(_ weights: WeightStore, _ prefix: String, config: WhisperConfig) throws {
        let d = config.dModel
        selfAttn = try MultiHeadAttention(
            weights, "\(prefix).self_attn", dModel: d, heads: config.encoderAttentionHeads, keyBias: false)
        selfAttnLayerNorm = try LayerNorm(weights, "\(prefix).self_attn_layer_norm", size: d, eps: torchNormEps)
        feedForward = try WhisperFeedForward(
            weights, prefix, dModel: d, ffnDim: config.encoderFfnDim, activation: config.activationFunction)
        finalLayerNorm = try LayerNorm(weights, "\(prefix).final_layer_norm", size: d, eps: torchNormEps)
    }

    /// `(frames, d_model)` -> `(frames, d_model)`
    func callAsFunction(_ x: Matrix) -> Matrix {
        var h = x
        h += selfAttn(selfAttnLayerNorm(x))
        h += feedForward(finalLayerNorm(h))
        return h
    }
}

/// `fc2(activation(fc1(x)))`, from `<prefix>.fc1` and `<prefix>.fc2`.
struct WhisperFeedForward: Sendable {
    let fc1: Linear
    let fc2: Linear
    let activation: Activation

    init(_ weights: WeightStore, _ prefix: String, dModel: Int, ffnDim: Int, activation: Activation) throws {
        fc1 = try Linear(weights, "\(prefix).fc1", inFeatures: dModel, outFeatures: ffnDim)
        fc2 = try Linear(weights, "\(prefix).fc2", inFeatures: ffnDim, outFeatures: dModel)
        self.activation = activation
    }

    /// `(rows, d_model)` -> `(rows, d_model)`
    func callAsFunction(_ x: Matrix) -> Matrix {
        var h = fc1(x)
        activation.apply(&h)
        return fc2(h)
    }
}
