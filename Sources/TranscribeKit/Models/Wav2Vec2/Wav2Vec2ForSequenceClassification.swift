/// `Wav2Vec2ForSequenceClassification` and `HubertForSequenceClassification` (keyword spotting,
/// e.g. superb/wav2vec2-base-superb-ks): the shared network, then the hidden states (the last
/// layer's, or a learned weighted sum of every layer's), a projection, the mean over frames and a
/// linear classifier: one logit per label for the whole clip.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/wav2vec2/modeling_wav2vec2.py
public final class Wav2Vec2ForSequenceClassification: Sendable {
    public let config: Wav2Vec2Config
    public let numLabels: Int
    let wav2vec2: Wav2Vec2Model
    /// `softmax(layer_weights)`, one per hidden state, with `use_weighted_layer_sum`.
    let layerWeights: [Float]?
    let projector: Linear
    let classifier: Linear

    /// Builds the model from a checkpoint, strictly (see `Wav2Vec2ForCTC.init`).
    public init(config: Wav2Vec2Config, numLabels: Int, weights file: SafeTensorsFile) throws {
        let weights = WeightStore(file: file)
        self.config = config
        self.numLabels = numLabels
        wav2vec2 = try Wav2Vec2Model(weights, config.weightPrefix, config: config)
        if config.useWeightedLayerSum {
            let raw = try weights("layer_weights", shape: [config.numHiddenLayers + 1])
            layerWeights = ScoreFunction.softmax.apply(Array(UnsafeBufferPointer(start: raw.pointer, count: raw.count)))
        } else {
            layerWeights = nil
        }
        projector = try Linear(
            weights, "projector", inFeatures: config.hiddenSize, outFeatures: config.classifierProjSize)
        classifier = try Linear(weights, "classifier", inFeatures: config.classifierProjSize, outFeatures: numLabels)
        try weights.checkAllUsed(ignoring: Wav2Vec2Model.trainingOnlyTensors(config.weightPrefix))
    }

    /// `(samples,)` normalised input values -> `(num_labels,)` logits; nil for an input shorter
    /// than the receptive field (no frame to pool).
    public func callAsFunction(_ inputValues: [Float]) -> [Float]? {
        guard config.frameCount(samples: inputValues.count) > 0 else { return nil }
        let features = wav2vec2.features(inputValues)
        var hiddenStates: Matrix
        if let layerWeights {
            // sum_l softmax(layer_weights)[l] * hidden_states[l]
            hiddenStates = Matrix(zeros: features.rows, features.cols)
            wav2vec2.encoder.forEachHiddenState(features) { layer, state in
                let weight = layerWeights[layer]
                for index in hiddenStates.data.indices { hiddenStates.data[index] += weight * state.data[index] }
            }
        } else {
            hiddenStates = wav2vec2.encoder(features)
        }
        // (frames, hidden) @ (hidden, classifier_proj_size)^T, then the mean over frames.
        let projected = projector(hiddenStates)
        var pooled = Matrix(zeros: 1, projected.cols)
        for frame in 0..<projected.rows {
            for col in 0..<projected.cols { pooled.data[col] += projected[frame, col] }
        }
        for col in 0..<pooled.cols { pooled.data[col] /= Float(projected.rows) }
        return classifier(pooled).data
    }
}
