/// The decoding settings a Whisper checkpoint ships in generation_config.json (transformers'
/// `GenerationConfig` for Whisper). Every field is optional: token ids missing here are looked up
/// by name in the tokenizer.
public struct WhisperGenerationConfig: Sendable, Equatable {
    public var decoderStartTokenId: Int?
    public var eosTokenId: Int?
    public var noTimestampsTokenId: Int?
    public var prevSotTokenId: Int?
    /// Never emitted (non-speech symbols, for the released checkpoints).
    public var suppressTokens: [Int] = []
    /// Never emitted as the first sampled token (a lone space, end of text).
    public var beginSuppressTokens: [Int]?
    /// `(layer, head)` pairs of cross-attention heads that align tokens with audio.
    public var alignmentHeads: [[Int]] = []
    public var isMultilingual: Bool?
    /// `"<|en|>"` -> id.
    public var langToId: [String: Int] = [:]
    /// `"transcribe"`, `"translate"` -> id.
    public var taskToId: [String: Int] = [:]
    /// The first timestamp may be at most this many steps of 0.02 s (50: 1 s).
    public var maxInitialTimestampIndex: Int?

    public init() {}
}

extension WhisperGenerationConfig {
    private struct Raw: Decodable {
        var decoder_start_token_id: Int?
        var eos_token_id: IntOrList?
        var no_timestamps_token_id: Int?
        var prev_sot_token_id: Int?
        var suppress_tokens: [Int]?
        var begin_suppress_tokens: [Int]?
        var alignment_heads: [[Int]]?
        var is_multilingual: Bool?
        var lang_to_id: [String: Int]?
        var task_to_id: [String: Int]?
        var max_initial_timestamp_index: Int?
    }

    /// `eos_token_id` is an id or a list of ids.
    private struct IntOrList: Decodable {
        let first: Int?
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let single = try? container.decode(Int.self) {
                first = single
            } else {
                first = try container.decode([Int].self).first
            }
        }
    }

    /// Reads generation_config.json; an error names the field.
    public init(contentsOf path: String) throws {
        let raw = try decodeJSONFile(Raw.self, path: path)
        self.init()
        decoderStartTokenId = raw.decoder_start_token_id
        eosTokenId = raw.eos_token_id?.first
        noTimestampsTokenId = raw.no_timestamps_token_id
        prevSotTokenId = raw.prev_sot_token_id
        suppressTokens = raw.suppress_tokens ?? []
        beginSuppressTokens = raw.begin_suppress_tokens
        alignmentHeads = raw.alignment_heads ?? []
        isMultilingual = raw.is_multilingual
        langToId = raw.lang_to_id ?? [:]
        taskToId = raw.task_to_id ?? [:]
        maxInitialTimestampIndex = raw.max_initial_timestamp_index
        if let index = maxInitialTimestampIndex, index < 0 {
            throw ModelError.invalidConfig(
                path: path, field: "max_initial_timestamp_index", reason: "must not be negative, found \(index)")
        }
        if let pair = alignmentHeads.first(where: { $0.count != 2 }) {
            throw ModelError.invalidConfig(
                path: path, field: "alignment_heads", reason: "expected [layer, head] pairs, found \(pair)")
        }
    }
}
