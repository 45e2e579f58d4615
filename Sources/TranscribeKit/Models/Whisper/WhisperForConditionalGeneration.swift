/// `WhisperForConditionalGeneration`: the audio encoder and the text decoder, from log-mel frames
/// and token ids to next-token logits.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/whisper/modeling_whisper.py
public final class WhisperForConditionalGeneration: Sendable {
    public let config: WhisperConfig
    let encoder: WhisperEncoder
    let decoder: WhisperDecoder

    /// Builds the model from a checkpoint, strictly: every tensor the config implies must be there
    /// with its shape, and every tensor in the file must be one of them. `proj_out.weight` may be
    /// absent: it is tied to the token embedding.
    public init(config: WhisperConfig, weights file: SafeTensorsFile) throws {
        let weights = WeightStore(file: file)
        self.config = config
        encoder = try WhisperEncoder(weights, "model.encoder", config: config)
        decoder = try WhisperDecoder(weights, "model.decoder", projOutKey: "proj_out.weight", config: config)
        try weights.checkAllUsed(ignoring: [])
    }

    /// Log-mel frames of one window (3000 for 30 s).
    public var inputFrames: Int { encoder.inputFrames }

    /// `(inputFrames, num_mel_bins)` log-mel -> `(max_source_positions, d_model)` encoder states.
    public func encode(_ features: Matrix) -> Matrix {
        precondition(features.cols == config.numMelBins, "Whisper encoder: features must have num_mel_bins columns")
        return encoder(features)
    }

    /// The decoder's view of one window's encoder states: each layer's cross-attention keys and values.
    func crossStates(_ encoded: Matrix) -> WhisperCrossStates { decoder.crossStates(encoded) }

    /// An empty cache for one sequence.
    func emptyCache() -> WhisperDecoderCache { WhisperDecoderCache(layers: config.decoderLayers) }

    /// `(tokens, vocab_size)` logits of every position of `tokens` run from the start against
    /// `encoded`: what transformers returns for `decoder_input_ids = tokens`.
    public func logits(tokens: [Int], encoded: Matrix) -> Matrix {
        var caches = [emptyCache()]
        return decoder.logits(decoder([tokens], caches: &caches, cross: crossStates(encoded)))
    }
}
