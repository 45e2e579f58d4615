/// The hyperparameters of a WhisperForConditionalGeneration checkpoint, from its config.json, with
/// the defaults of transformers' `WhisperConfig` where a field is absent.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/whisper/configuration_whisper.py
public struct WhisperConfig: Sendable, Equatable {
    public var vocabSize = 51865
    public var numMelBins = 80
    public var dModel = 384
    public var encoderLayers = 4
    public var encoderAttentionHeads = 6
    public var encoderFfnDim = 1536
    public var decoderLayers = 4
    public var decoderAttentionHeads = 6
    public var decoderFfnDim = 1536
    public var activationFunction = Activation.gelu
    /// Encoder frames after the stride-2 convolution: 1500 for 30 s.
    public var maxSourcePositions = 1500
    /// Longest token sequence the decoder has positions for.
    public var maxTargetPositions = 448
    public var scaleEmbedding = false
    public var decoderStartTokenId = 50257
    public var eosTokenId = 50256

    public init() {}
}

extension WhisperConfig {
    private struct Raw: Decodable {
        var model_type: String?
        var vocab_size: Int?
        var num_mel_bins: Int?
        var d_model: Int?
        var encoder_layers: Int?
        var encoder_attention_heads: Int?
        var encoder_ffn_dim: Int?
        var decoder_layers: Int?
        var decoder_attention_heads: Int?
        var decoder_ffn_dim: Int?
        var activation_function: String?
        var max_source_positions: Int?
        var max_target_positions: Int?
        var scale_embedding: Bool?
        var decoder_start_token_id: Int?
        var eos_token_id: Int?
    }

    /// Reads and validates config.json; an error names the field.
    public init(contentsOf path: String) throws {
        let raw = try decodeJSONFile(Raw.self, path: path)
        let fields = ConfigFields(path: path)

        self.init()
        if let modelType = raw.model_type, modelType != "whisper" {
            throw ModelError.unsupportedConfig(
                path: path, field: "model_type", reason: "\"\(modelType)\" is not a Whisper model")
        }
        vocabSize = try fields.positive(raw.vocab_size, "vocab_size", default: vocabSize)
        numMelBins = try fields.positive(raw.num_mel_bins, "num_mel_bins", default: numMelBins)
        dModel = try fields.positive(raw.d_model, "d_model", default: dModel)
        encoderLayers = try fields.positive(raw.encoder_layers, "encoder_layers", default: encoderLayers)
        encoderAttentionHeads = try fields.positive(
            raw.encoder_attention_heads, "encoder_attention_heads", default: encoderAttentionHeads)
        encoderFfnDim = try fields.positive(raw.encoder_ffn_dim, "encoder_ffn_dim", default: encoderFfnDim)
        decoderLayers = try fields.positive(raw.decoder_layers, "decoder_layers", default: decoderLayers)
        decoderAttentionHeads = try fields.positive(
            raw.decoder_attention_heads, "decoder_attention_heads", default: decoderAttentionHeads)
        decoderFfnDim = try fields.positive(raw.decoder_ffn_dim, "decoder_ffn_dim", default: decoderFfnDim)
        maxSourcePositions = try fields.positive(
            raw.max_source_positions, "max_source_positions", default: maxSourcePositions)
        maxTargetPositions = try fields.positive(
            raw.max_target_positions, "max_target_positions", default: maxTargetPositions)
        scaleEmbedding = raw.scale_embedding ?? scaleEmbedding
        activationFunction = try fields.activation(
            raw.activation_function, "activation_function", default: activationFunction)
        for (field, heads) in [
            ("encoder_attention_heads", encoderAttentionHeads), ("decoder_attention_heads", decoderAttentionHeads),
        ]
        where dModel % heads != 0 {
            throw fields.invalid(field, "d_model \(dModel) is not divisible by \(heads) heads")
        }
        decoderStartTokenId = raw.decoder_start_token_id ?? decoderStartTokenId
        eosTokenId = raw.eos_token_id ?? eosTokenId
        for (field, id) in [("decoder_start_token_id", decoderStartTokenId), ("eos_token_id", eosTokenId)]
        where !(0..<vocabSize).contains(id) {
            throw fields.invalid(field, "token id \(id) is outside the vocabulary (vocab_size \(vocabSize))")
        }
    }
}
