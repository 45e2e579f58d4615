/// The convolutional feature encoder: raw 16 kHz samples to `(frames, conv_dim[-1])` features.
/// Ports `Wav2Vec2FeatureEncoder` and its three conv layer kinds:
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/wav2vec2/modeling_wav2vec2.py
struct Wav2Vec2FeatureEncoder: Sendable {
    /// One `conv_layers.N`: conv, then (per feat_extract_norm) a norm, then the activation.
    struct ConvLayer: Sendable {
        enum Norm: Sendable {
            case none
            /// `Wav2Vec2GroupNormConvLayer`: GroupNorm with one group per channel, over time.
            case group(weight: Tensor, bias: Tensor)
            /// `Wav2Vec2LayerNormConvLayer`: LayerNorm over the channels of each frame.
            case layer(weight: Tensor, bias: Tensor)
        }

        let conv: Conv1d
        let layerNorm: Norm
        let activation: Activation

        func callAsFunction(_ x: Matrix) -> Matrix {
            var h = conv(x)
            switch layerNorm {
            case .none: break
            case .group(let weight, let bias): channelNorm(&h, weight: weight, bias: bias, eps: torchNormEps)
            case .layer(let weight, let bias): TranscribeKit.layerNorm(&h, weight: weight, bias: bias, eps: torchNormEps)
            }
            activation.apply(&h)
            return h
        }
    }

    let convLayers: [ConvLayer]

    init(_ weights: WeightStore, _ prefix: String, config: Wav2Vec2Config) throws {
        var inChannels = 1
        var layers: [ConvLayer] = []
        for (index, outChannels) in config.convDim.enumerated() {
            let key = "\(prefix).conv_layers.\(index)"
            let kernel = config.convKernel[index]
            let conv = Conv1d(
                weight: try weights("\(key).conv.weight", shape: [outChannels, inChannels, kernel]),
                bias: config.convBias ? try weights("\(key).conv.bias", shape: [outChannels]) : nil,
                stride: config.convStride[index])
            var norm = ConvLayer.Norm.none
            switch config.featExtractNorm {
            case .group where index == 0:
                norm = .group(
                    weight: try weights("\(key).layer_norm.weight", shape: [outChannels]),
                    bias: try weights("\(key).layer_norm.bias", shape: [outChannels]))
            case .layer:
                norm = .layer(
                    weight: try weights("\(key).layer_norm.weight", shape: [outChannels]),
                    bias: try weights("\(key).layer_norm.bias", shape: [outChannels]))
            case .group:
                break
            }
            layers.append(ConvLayer(conv: conv, layerNorm: norm, activation: config.featExtractActivation))
            inChannels = outChannels
        }
        convLayers = layers
    }

    /// `(samples,)` -> `(frames, conv_dim[-1])`
    func callAsFunction(_ samples: [Float]) -> Matrix {
        var h = Matrix(rows: samples.count, cols: 1, data: samples)
        for layer in convLayers { h = layer(h) }
        return h
    }
}

/// `Wav2Vec2FeatureProjection`: LayerNorm then a linear map from conv channels to hidden size.
struct Wav2Vec2FeatureProjection: Sendable {
    let layerNorm: LayerNorm
    let projection: Linear

    init(_ weights: WeightStore, _ prefix: String, config: Wav2Vec2Config) throws {
        let channels = config.convDim[config.convDim.count - 1]
        layerNorm = try LayerNorm(weights, "\(prefix).layer_norm", size: channels, eps: config.layerNormEps)
        projection = try Linear(weights, "\(prefix).projection", inFeatures: channels, outFeatures: config.hiddenSize)
    }

    /// `(frames, conv_dim[-1])` -> `(frames, hidden_size)`
    func callAsFunction(_ x: Matrix) -> Matrix { projection(layerNorm(x)) }
}
