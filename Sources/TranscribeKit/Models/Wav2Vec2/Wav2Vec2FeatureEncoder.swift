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

        /// `statistics`: the GroupNorm's per-channel statistics over the whole input, when `x` is a slice.
        func callAsFunction(_ x: Matrix, statistics: ChannelStatistics? = nil) -> Matrix {
            var h = conv(x)
            switch layerNorm {
            case .none: break
            case .group(let weight, let bias):
                channelNorm(&h, weight: weight, bias: bias, eps: torchNormEps, statistics: statistics)
            case .layer(let weight, let bias):
                TranscribeKit.layerNorm(&h, weight: weight, bias: bias, eps: torchNormEps)
            }
            activation.apply(&h)
            return h
        }

        /// The same for raw samples (one input channel) as one fused pass, `Conv1d.singleChannel`,
        /// where the norm is a per-channel map; nil for a LayerNorm, which needs the whole frame.
        func fused(_ samples: UnsafeBufferPointer<Float>, statistics: ChannelStatistics?) -> Matrix? {
            guard conv.inChannels == 1, conv.groups == 1, conv.padding == 0 else { return nil }
            switch layerNorm {
            case .none:
                let (ones, zeros) = (
                    [Float](repeating: 1, count: conv.outChannels), [Float](repeating: 0, count: conv.outChannels)
                )
                return conv.singleChannel(samples, scale: ones, shift: zeros, activation: activation)
            case .group(let weight, let bias):
                guard let statistics else { return nil }
                let (scale, shift) = statistics.affine(weight: weight, bias: bias, eps: torchNormEps)
                return conv.singleChannel(samples, scale: scale, shift: shift, activation: activation)
            case .layer:
                return nil
            }
        }
    }

    let convLayers: [ConvLayer]
    /// Input samples per output frame, and the samples one output frame sees.
    let samplesPerFrame: Int
    let receptiveField: Int

    /// Output frames computed at a time: bounds the largest intermediate (the first layer's output,
    /// 64 x 512 values per output frame for base) to ~17 MB, which can stay in a 32 MB L3 cache
    /// while the second layer reads it.
    static let chunkFrames = 128

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
        samplesPerFrame = config.samplesPerFrame
        receptiveField = config.receptiveField
    }

    /// `(samples,)` -> `(frames, conv_dim[-1])`, in chunks of output frames, each from just the
    /// samples it sees: chunk boundaries fall on multiples of every layer's stride, so the stitched
    /// frames are those of one pass.
    func callAsFunction(_ samples: [Float]) -> Matrix {
        let frames = samples.count < receptiveField ? 0 : (samples.count - receptiveField) / samplesPerFrame + 1
        var features = Matrix(zeros: frames, convLayers[convLayers.count - 1].conv.outChannels)
        guard frames > 0 else { return features }
        let statistics = firstLayerStatistics(samples)
        for first in Swift.stride(from: 0, to: frames, by: Self.chunkFrames) {
            let last = min(first + Self.chunkFrames, frames)
            let input = samples[(first * samplesPerFrame)..<((last - 1) * samplesPerFrame + receptiveField)]
            var h =
                input.withUnsafeBufferPointer { convLayers[0].fused($0, statistics: statistics) }
                ?? convLayers[0](Matrix(rows: input.count, cols: 1, data: Array(input)), statistics: statistics)
            for layer in convLayers.dropFirst() { h = layer(h) }
            features.data.replaceSubrange((first * features.cols)..<(last * features.cols), with: h.data)
        }
        return features
    }

    /// The first layer's GroupNorm statistics over the whole input, from the samples alone.
    /// Channel c of the conv at frame t is `w_c · x_t + b_c`, `x_t` the t-th window of `kernel`
    /// samples, so its mean is `w_c · m + b_c` and its variance `w_c^T S w_c - (w_c · m)^2`, with
    /// `m` and `S` the mean window and mean outer product of the windows: kernel and kernel² sums.
    func firstLayerStatistics(_ samples: [Float]) -> ChannelStatistics? {
        let layer = convLayers[0]
        guard case .group = layer.layerNorm else { return nil }
        let (kernel, stride, channels) = (layer.conv.kernelSize, layer.conv.stride, layer.conv.outChannels)
        let frames = layer.conv.outputLength(samples.count)
        var m = [Double](repeating: 0, count: kernel)
        var s = [Double](repeating: 0, count: kernel * kernel)
        samples.withUnsafeBufferPointer { x in
            for t in 0..<frames {
                let window = x.baseAddress! + t * stride
                for i in 0..<kernel {
                    let xi = Double(window[i])
                    m[i] += xi
                    for j in i..<kernel { s[i * kernel + j] += xi * Double(window[j]) }
                }
            }
        }
        for i in 0..<kernel {
            m[i] /= Double(frames)
            for j in i..<kernel {
                s[i * kernel + j] /= Double(frames)
                s[j * kernel + i] = s[i * kernel + j]
            }
        }
        var statistics = ChannelStatistics(
            mean: [Double](repeating: 0, count: channels), variance: [Double](repeating: 0, count: channels))
        // In channels is 1, so the reordered weight (out, kernel, 1) is the checkpoint's (out, 1, kernel).
        let w = layer.conv.weight.baseAddress
        for c in 0..<channels {
            var mean = 0.0, square = 0.0
            for i in 0..<kernel {
                let wi = Double(w[c * kernel + i])
                mean += wi * m[i]
                for j in 0..<kernel { square += wi * s[i * kernel + j] * Double(w[c * kernel + j]) }
            }
            statistics.mean[c] = mean + Double(layer.conv.bias?.pointer[c] ?? 0)
            statistics.variance[c] = max(0, square - mean * mean)
        }
        return statistics
    }
}

/// `Wav2Vec2FeatureProjection` (and `HubertFeatureProjection`): LayerNorm (optional for HuBERT,
/// `feat_proj_layer_norm`), then a linear map from conv channels to hidden size.
struct Wav2Vec2FeatureProjection: Sendable {
    let layerNorm: LayerNorm?
    let projection: Linear

    init(_ weights: WeightStore, _ prefix: String, config: Wav2Vec2Config) throws {
        let channels = config.convDim[config.convDim.count - 1]
        layerNorm =
            config.featProjLayerNorm
            ? try LayerNorm(weights, "\(prefix).layer_norm", size: channels, eps: config.layerNormEps) : nil
        projection = try Linear(weights, "\(prefix).projection", inFeatures: channels, outFeatures: config.hiddenSize)
    }

    /// `(frames, conv_dim[-1])` -> `(frames, hidden_size)`
    func callAsFunction(_ x: Matrix) -> Matrix { projection(layerNorm.map { $0(x) } ?? x) }
}
