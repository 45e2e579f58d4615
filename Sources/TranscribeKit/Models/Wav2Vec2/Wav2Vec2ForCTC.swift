/// `Wav2Vec2ForCTC`: feature encoder, feature projection, transformer encoder and the CTC head,
/// from normalised 16 kHz samples to per-frame logits over the vocabulary.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/wav2vec2/modeling_wav2vec2.py
public final class Wav2Vec2ForCTC: Sendable {
    public let config: Wav2Vec2Config
    let featureExtractor: Wav2Vec2FeatureEncoder
    let featureProjection: Wav2Vec2FeatureProjection
    let encoder: Wav2Vec2Encoder
    let lmHead: Linear

    /// Checkpoint tensors that inference does not use: the learned mask vector of SpecAugment.
    static let trainingOnlyTensors: Set<String> = ["wav2vec2.masked_spec_embed"]

    /// Builds the model from a checkpoint, strictly: every tensor the config implies must be there
    /// with its shape, and every tensor in the file must be one of them.
    public init(config: Wav2Vec2Config, weights file: SafeTensorsFile) throws {
        let weights = WeightStore(file: file)
        self.config = config
        featureExtractor = try Wav2Vec2FeatureEncoder(weights, "wav2vec2.feature_extractor", config: config)
        featureProjection = try Wav2Vec2FeatureProjection(weights, "wav2vec2.feature_projection", config: config)
        encoder = try Wav2Vec2Encoder(weights, "wav2vec2.encoder", config: config)
        lmHead = try Linear(weights, "lm_head", inFeatures: config.hiddenSize, outFeatures: config.vocabSize)
        try weights.checkAllUsed(ignoring: Self.trainingOnlyTensors)
    }

    /// `(samples,)` normalised input values -> `(frames, vocab_size)` logits; no frames for an input
    /// shorter than the receptive field.
    public func callAsFunction(_ inputValues: [Float]) -> Matrix {
        guard config.frameCount(samples: inputValues.count) > 0 else { return Matrix(zeros: 0, config.vocabSize) }
        let features = featureExtractor(inputValues)
        let hiddenStates = encoder(featureProjection(features))
        return lmHead(hiddenStates)
    }
}
