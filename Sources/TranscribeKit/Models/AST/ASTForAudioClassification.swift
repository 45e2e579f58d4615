/// `ASTForAudioClassification`: the Audio Spectrogram Transformer (Gong et al. 2021), a ViT over
/// 16 x 16 patches of the log mel filter bank, classifying the average of its CLS and
/// distillation tokens.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/audio_spectrogram_transformer/modeling_audio_spectrogram_transformer.py
///
/// Checkpoints name the layers two ways: as published (`encoder.layer.N.attention.attention.query`,
/// `intermediate.dense`, `output.dense`; every checkpoint on the Hub) and as transformers 5 saves
/// them (`layers.N.attention.q_proj`, `mlp.fc1`, `mlp.fc2`). Both load.
public final class ASTForAudioClassification: Sendable {
    public let config: ASTConfig
    public let numLabels: Int
    let embeddings: ASTEmbeddings
    let layers: [ASTLayer]
    let layernorm: LayerNorm
    let classifier: ASTMLPHead

    static let prefix = "audio_spectrogram_transformer"

    /// Builds the model from a checkpoint, strictly: every tensor the config implies must be there
    /// with its shape, and every tensor in the file must be one of them.
    public init(config: ASTConfig, numLabels: Int, weights file: SafeTensorsFile) throws {
        let weights = WeightStore(file: file)
        self.config = config
        self.numLabels = numLabels
        let prefix = Self.prefix
        embeddings = try ASTEmbeddings(weights, "\(prefix).embeddings", config: config)
        let published = weights.contains("\(prefix).encoder.layer.0.layernorm_before.weight")
        layers = try (0..<config.numHiddenLayers).map { index in
            published
                ? try ASTLayer(weights, "\(prefix).encoder.layer.\(index)", names: .published, config: config)
                : try ASTLayer(weights, "\(prefix).layers.\(index)", names: .transformers5, config: config)
        }
        layernorm = try LayerNorm(weights, "\(prefix).layernorm", size: config.hiddenSize, eps: config.layerNormEps)
        classifier = try ASTMLPHead(weights, "classifier", config: config, numLabels: numLabels)
        try weights.checkAllUsed(ignoring: [])
    }

    /// `(max_length, num_mel_bins)` input values -> `(num_labels,)` logits.
    public func callAsFunction(_ inputValues: Matrix) -> [Float] {
        var h = embeddings(inputValues)
        for layer in layers { h = layer(h) }
        let sequence = layernorm(h)
        // (sequence[0] + sequence[1]) / 2: the CLS and distillation tokens.
        var pooled = Matrix(zeros: 1, sequence.cols)
        for col in 0..<sequence.cols { pooled.data[col] = (sequence[0, col] + sequence[1, col]) / 2 }
        return classifier(pooled).data
    }
}

/// `ASTEmbeddings`: the patches, each a 16 x 16 square of the filter bank projected to
/// `hidden_size` (a strided Conv2d), after a CLS and a distillation token, plus learned positions.
struct ASTEmbeddings: Sendable {
    /// `patch_embeddings.projection`: Conv2d weight `(hidden, 1, patch, patch)` as `(hidden, patch * patch)`.
    let projection: Linear
    let clsToken: Tensor
    let distillationToken: Tensor
    let positionEmbeddings: Tensor
    let config: ASTConfig

    init(_ weights: WeightStore, _ prefix: String, config: ASTConfig) throws {
        let (hidden, patch) = (config.hiddenSize, config.patchSize)
        let conv = "\(prefix).patch_embeddings.projection"
        let weight = try weights("\(conv).weight", shape: [hidden, 1, patch, patch])
        projection = Linear(
            weight: Tensor(shape: [hidden, patch * patch], storage: weight.storage),
            bias: try weights("\(conv).bias", shape: [hidden]))
        clsToken = try weights("\(prefix).cls_token", shape: [1, 1, hidden])
        distillationToken = try weights("\(prefix).distillation_token", shape: [1, 1, hidden])
        let tokens = config.frequencyPatches * config.timePatches + 2
        positionEmbeddings = try weights("\(prefix).position_embeddings", shape: [1, tokens, hidden])
        self.config = config
    }

    /// `(max_length, num_mel_bins)` -> `(2 + patches, hidden)`. The model sees the filter bank as
    /// an image of frequency rows and time columns; patch `(f, t)` is token `2 + f * timePatches + t`.
    func callAsFunction(_ inputValues: Matrix) -> Matrix {
        let (patch, hidden) = (config.patchSize, config.hiddenSize)
        let (frequencies, times) = (config.frequencyPatches, config.timePatches)
        // (patches, patch * patch): element (kf, kt) of patch (f, t) is input[t * time_stride + kt, f * frequency_stride + kf].
        var patches = Matrix(zeros: frequencies * times, patch * patch)
        for f in 0..<frequencies {
            for t in 0..<times {
                let row = (f * times + t) * patch * patch
                for kf in 0..<patch {
                    let bin = f * config.frequencyStride + kf
                    for kt in 0..<patch {
                        patches.data[row + kf * patch + kt] = inputValues[t * config.timeStride + kt, bin]
                    }
                }
            }
        }
        let projected = projection(patches)
        var tokens = Matrix(zeros: projected.rows + 2, hidden)
        for col in 0..<hidden {
            tokens.data[col] = clsToken.pointer[col]
            tokens.data[hidden + col] = distillationToken.pointer[col]
        }
        tokens.data.replaceSubrange((2 * hidden)..<tokens.data.count, with: projected.data)
        for index in tokens.data.indices { tokens.data[index] += positionEmbeddings.pointer[index] }
        return tokens
    }
}

/// One `ASTLayer`, pre-norm: `h = x + attention(layernorm_before(x))`, `h + mlp(layernorm_after(h))`.
struct ASTLayer: Sendable {
    /// The checkpoint's names for the attention and feed-forward weights.
    struct Names {
        let query, key, value, output, fc1, fc2: String

        static let published = Names(
            query: "attention.attention.query", key: "attention.attention.key", value: "attention.attention.value",
            output: "attention.output.dense", fc1: "intermediate.dense", fc2: "output.dense")
        static let transformers5 = Names(
            query: "attention.q_proj", key: "attention.k_proj", value: "attention.v_proj",
            output: "attention.o_proj", fc1: "mlp.fc1", fc2: "mlp.fc2")
    }

    let layernormBefore: LayerNorm
    let attention: MultiHeadAttention
    let layernormAfter: LayerNorm
    let fc1: Linear
    let fc2: Linear
    let activation: Activation

    init(_ weights: WeightStore, _ prefix: String, names: Names, config: ASTConfig) throws {
        let (hidden, eps) = (config.hiddenSize, config.layerNormEps)
        func linear(_ name: String, _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) throws -> Linear {
            try Linear(weights, "\(prefix).\(name)", inFeatures: inFeatures, outFeatures: outFeatures, bias: bias)
        }
        layernormBefore = try LayerNorm(weights, "\(prefix).layernorm_before", size: hidden, eps: eps)
        attention = MultiHeadAttention(
            qProj: try linear(names.query, hidden, hidden, bias: config.qkvBias),
            kProj: try linear(names.key, hidden, hidden, bias: config.qkvBias),
            vProj: try linear(names.value, hidden, hidden, bias: config.qkvBias),
            outProj: try linear(names.output, hidden, hidden),
            numHeads: config.numAttentionHeads)
        layernormAfter = try LayerNorm(weights, "\(prefix).layernorm_after", size: hidden, eps: eps)
        fc1 = try linear(names.fc1, hidden, config.intermediateSize)
        fc2 = try linear(names.fc2, config.intermediateSize, hidden)
        activation = config.hiddenAct
    }

    /// `(tokens, hidden)` -> `(tokens, hidden)`
    func callAsFunction(_ x: Matrix) -> Matrix {
        var h = attention(layernormBefore(x))
        h += x
        var m = fc1(layernormAfter(h))
        activation.apply(&m)
        var out = fc2(m)
        out += h
        return out
    }
}

/// `ASTMLPHead`: LayerNorm, then a linear map to one logit per label.
struct ASTMLPHead: Sendable {
    let layernorm: LayerNorm
    let dense: Linear

    init(_ weights: WeightStore, _ prefix: String, config: ASTConfig, numLabels: Int) throws {
        layernorm = try LayerNorm(weights, "\(prefix).layernorm", size: config.hiddenSize, eps: config.layerNormEps)
        dense = try Linear(weights, "\(prefix).dense", inFeatures: config.hiddenSize, outFeatures: numLabels)
    }

    func callAsFunction(_ x: Matrix) -> Matrix { dense(layernorm(x)) }
}
