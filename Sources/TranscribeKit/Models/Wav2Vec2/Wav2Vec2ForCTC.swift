/// `Wav2Vec2Model` (and `HubertModel`): feature encoder, feature projection and transformer
/// encoder, from normalised 16 kHz samples to per-frame hidden states. The heads below share it.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/wav2vec2/modeling_wav2vec2.py
struct Wav2Vec2Model: Sendable {
    let featureExtractor: Wav2Vec2FeatureEncoder
    let featureProjection: Wav2Vec2FeatureProjection
    let encoder: Wav2Vec2Encoder

    init(_ weights: WeightStore, _ prefix: String, config: Wav2Vec2Config) throws {
        featureExtractor = try Wav2Vec2FeatureEncoder(weights, "\(prefix).feature_extractor", config: config)
        featureProjection = try Wav2Vec2FeatureProjection(weights, "\(prefix).feature_projection", config: config)
        encoder = try Wav2Vec2Encoder(weights, "\(prefix).encoder", config: config)
    }

    /// `(samples,)` normalised input values -> `(frames, hidden_size)` projected features, the
    /// encoder's input.
    func features(_ inputValues: [Float]) -> Matrix { featureProjection(featureExtractor(inputValues)) }

    /// Checkpoint tensors that inference does not use: the learned mask vector of SpecAugment.
    static func trainingOnlyTensors(_ prefix: String) -> Set<String> { ["\(prefix).masked_spec_embed"] }
}

/// `Wav2Vec2ForCTC`: the shared network and the CTC head, from normalised 16 kHz samples to
/// per-frame logits over the vocabulary.
public final class Wav2Vec2ForCTC: Sendable {
    public let config: Wav2Vec2Config
    let wav2vec2: Wav2Vec2Model
    let lmHead: Linear

    /// Builds the model from a checkpoint, strictly: every tensor the config implies must be there
    /// with its shape, and every tensor in the file must be one of them.
    public init(config: Wav2Vec2Config, weights file: SafeTensorsFile) throws {
        let weights = WeightStore(file: file)
        self.config = config
        wav2vec2 = try Wav2Vec2Model(weights, config.weightPrefix, config: config)
        lmHead = try Linear(weights, "lm_head", inFeatures: config.hiddenSize, outFeatures: config.vocabSize)
        try weights.checkAllUsed(ignoring: Wav2Vec2Model.trainingOnlyTensors(config.weightPrefix))
    }

    /// `(samples,)` normalised input values -> `(frames, vocab_size)` logits; no frames for an input
    /// shorter than the receptive field.
    public func callAsFunction(_ inputValues: [Float]) -> Matrix {
        guard config.frameCount(samples: inputValues.count) > 0 else { return Matrix(zeros: 0, config.vocabSize) }
        return lmHead(wav2vec2.encoder(wav2vec2.features(inputValues)))
    }
}
