/// The ids of Whisper's control tokens, looked up by name in the tokenizer, with
/// generation_config.json's ids where it gives them.
public struct WhisperSpecialTokens: Sendable, Equatable {
    public let endOfText: Int
    public let startOfTranscript: Int
    public let startOfPrevious: Int?
    public let startOfLM: Int?
    /// `<|nospeech|>` (`<|nocaptions|>` in older vocabularies).
    public let noSpeech: Int?
    public let noTimestamps: Int
    /// `<|0.00|>`; every id from here up is a timestamp, in steps of `timePrecision`.
    public let timestampBegin: Int
    public let transcribe: Int?
    public let translate: Int?
    /// Language code (`"en"`) -> the id of `<|en|>`.
    public let languages: [String: Int]
    /// The byte-level space token (`Ġ`), never the first token of a transcript.
    public let space: Int?

    /// Seconds per timestamp step: 2 log-mel frames of 10 ms, one encoder position.
    public static let timePrecision = 0.02

    public enum Missing: Error, Equatable { case token(String) }

    /// `lookup` finds a token's id by its spelling.
    public init(lookup: (String) -> Int?, languages: [String: Int], generation: WhisperGenerationConfig) throws {
        func required(_ name: String, _ configured: Int?) throws -> Int {
            guard let id = configured ?? lookup(name) else { throw Missing.token(name) }
            return id
        }
        endOfText = try required("<|endoftext|>", generation.eosTokenId)
        startOfTranscript = try required("<|startoftranscript|>", generation.decoderStartTokenId)
        noTimestamps = try required("<|notimestamps|>", generation.noTimestampsTokenId)
        timestampBegin = lookup("<|0.00|>") ?? noTimestamps + 1
        startOfPrevious = generation.prevSotTokenId ?? lookup("<|startofprev|>")
        startOfLM = lookup("<|startoflm|>")
        noSpeech = lookup("<|nospeech|>") ?? lookup("<|nocaptions|>")
        transcribe = generation.taskToId["transcribe"] ?? lookup("<|transcribe|>")
        translate = generation.taskToId["translate"] ?? lookup("<|translate|>")
        var codes = languages
        for (token, id) in generation.langToId where token.hasPrefix("<|") && token.hasSuffix("|>") {
            codes[String(token.dropFirst(2).dropLast(2))] = id
        }
        self.languages = codes
        space = lookup("Ġ")
    }

    /// The id of timestamp `seconds`, rounded down to a step.
    public func timestamp(_ seconds: Double) -> Int { timestampBegin + Int(seconds / Self.timePrecision) }

    public func isTimestamp(_ id: Int) -> Bool { id >= timestampBegin }

    /// Seconds a timestamp token stands for.
    public func seconds(_ id: Int) -> Double { Double(id - timestampBegin) * Self.timePrecision }
}
