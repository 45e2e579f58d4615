import Foundation

/// One stretch of a Whisper transcript between two timestamps.
public struct WhisperSegment: Sendable, Equatable {
    /// Seconds from the start of the input: the segment's timestamps, or with word timestamps its
    /// first word's start and last word's end (as faster-whisper sets them).
    public internal(set) var start: Double
    public internal(set) var end: Double
    /// The tokens of the segment, timestamps included.
    public let tokens: [Int]
    /// Each text token's log-probability (timestamps excluded), in order.
    public let textLogProbs: [Float]
    public let text: String
    /// Its words, timed by the cross-attention alignment; empty without alignment heads.
    public internal(set) var words: [WhisperWord] = []
    /// The first log-mel frame of the window it was decoded in (100 a second).
    public var seek = 0
    /// What faster-whisper reports of the window's decoding: the temperature of the accepted
    /// decode, the average log-probability of its tokens, the compression ratio of its text and
    /// the probability of `<|nospeech|>`.
    public var temperature = 0.0
    public var averageLogProb = 0.0
    public var compressionRatio = 0.0
    public var noSpeechProb = 0.0
}

extension WhisperSegment {
    /// Ends the segment and its words at `time` at the latest.
    mutating func cut(at time: Double) {
        start = min(start, time)
        end = min(end, time)
        for index in words.indices {
            words[index].start = min(words[index].start, time)
            words[index].end = min(words[index].end, time)
        }
    }
}

/// What Whisper heard in one input.
public struct WhisperTranscription: Sendable, Equatable {
    public let segments: [WhisperSegment]
    /// The language it transcribed in (a code such as `"en"`).
    public let language: String
    /// How likely the language was on the first 30 s, among the languages: 1 when it was given
    /// or the model knows one language only.
    public var languageProbability = 1.0
    /// Whether the language was detected (a multilingual model, no language given).
    public var languageWasDetected = false
    /// Seconds of audio transcribed.
    public let duration: Double

    /// The segments' texts joined, trimmed.
    public var text: String {
        segments.map(\.text).joined().trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A loaded Whisper checkpoint with its tokenizer and feature extractor: samples in, text out,
/// by the reference's sequential algorithm over 30 s windows.
public final class WhisperRecognizer: Sendable {
    public let directory: ModelDirectory
    public let model: WhisperForConditionalGeneration
    public let tokenizer: WhisperTokenizer
    public let featureExtractor: WhisperFeatureExtractor
    public let generation: WhisperGenerationConfig
    public let specialTokens: WhisperSpecialTokens
    public let options: WhisperDecodingOptions

    /// Loads config.json, model.safetensors, the tokenizer (tokenizer.json or vocab.json with its
    /// added tokens) and, where present, generation_config.json and preprocessor_config.json.
    public init(directory: ModelDirectory, options: WhisperDecodingOptions = WhisperDecodingOptions()) throws {
        self.directory = directory
        self.options = options
        let config = try WhisperConfig(contentsOf: directory.file("config.json"))
        guard directory.exists("model.safetensors") else {
            throw ModelError.missingFile(path: directory.file("model.safetensors"))
        }
        tokenizer = try WhisperTokenizer(directory: directory)
        generation =
            directory.exists("generation_config.json")
            ? try WhisperGenerationConfig(contentsOf: directory.file("generation_config.json"))
            : WhisperGenerationConfig()
        featureExtractor =
            directory.exists("preprocessor_config.json")
            ? try WhisperFeatureExtractor(contentsOf: directory.file("preprocessor_config.json"))
            : WhisperFeatureExtractor(featureSize: config.numMelBins)
        guard featureExtractor.featureSize == config.numMelBins else {
            throw ModelError.invalidConfig(
                path: directory.file("preprocessor_config.json"), field: "feature_size",
                reason: "\(featureExtractor.featureSize) mel bins, but config.json num_mel_bins is \(config.numMelBins)"
            )
        }
        let tokenizer = self.tokenizer
        do {
            specialTokens = try WhisperSpecialTokens(
                lookup: { tokenizer.id(of: $0) }, languages: tokenizer.languages, generation: generation)
        } catch WhisperSpecialTokens.Missing.token(let name) {
            throw ModelError.vocabularyMismatch(path: directory.path, reason: "the tokenizer has no \(name) token")
        }
        for (name, id) in [
            ("<|endoftext|>", specialTokens.endOfText), ("<|notimestamps|>", specialTokens.noTimestamps),
        ]
        where id >= config.vocabSize {
            throw ModelError.vocabularyMismatch(
                path: directory.path,
                reason: "token \(name) is id \(id), beyond the model's vocab_size \(config.vocabSize)")
        }
        model = try WhisperForConditionalGeneration(
            config: config, weights: SafeTensorsFile(path: directory.file("model.safetensors")))
        guard featureExtractor.nbMaxFrames == model.inputFrames else {
            throw ModelError.invalidConfig(
                path: directory.file("preprocessor_config.json"), field: "hop_length",
                reason:
                    "a \(featureExtractor.chunkLength) s window at \(featureExtractor.samplingRate) Hz and hop_length "
                    + "\(featureExtractor.hopLength) is \(featureExtractor.nbMaxFrames) frames, but the model takes \(model.inputFrames)"
            )
        }
        if let language = options.language {
            guard isMultilingual ? specialTokens.languages[language] != nil : language == "en" else {
                throw WhisperOptionError.unknownLanguage(
                    language, available: isMultilingual ? specialTokens.languages.keys.sorted() : ["en"])
            }
        }
        if options.task == .translate && !isMultilingual { throw WhisperOptionError.translateNeedsMultilingual }
    }

    /// The same loaded model decoding by other options.
    public init(_ other: WhisperRecognizer, options: WhisperDecodingOptions) {
        directory = other.directory
        model = other.model
        tokenizer = other.tokenizer
        featureExtractor = other.featureExtractor
        generation = other.generation
        specialTokens = other.specialTokens
        self.options = options
    }

    /// The rate the model takes its samples at.
    public var sampleRate: Int { featureExtractor.samplingRate }

    /// Multilingual checkpoints put a language and a task after `<|startoftranscript|>`.
    public var isMultilingual: Bool { generation.isMultilingual ?? (model.config.vocabSize >= 51865) }

    /// Transcribes mono samples at `sampleRate` by the reference's sequential algorithm: a 30 s
    /// window at a time, each starting where the previous one's last complete segment ended.
    /// Windows are filled as `options.padding` says: up to 30 s with `.audio`, the input is one
    /// window padded with silence, exactly as `WhisperFeatureExtractor` prepares it. A window of
    /// digital silence (`options.silencePeak`) is passed over. `updates` hears each window's end
    /// and the segments so far. `initialPrompt` is text before the input, as faster-whisper's
    /// `initial_prompt`; `language` overrides the options' (a live stream keeps the one it found).
    public func transcribe(
        samples: [Float], updates: RecognitionUpdates? = nil, initialPrompt: [Int] = [], language given: String? = nil
    ) -> WhisperTranscription {
        let windowFrames = model.inputFrames
        let hop = featureExtractor.hopLength
        let duration = Double(samples.count) / Double(sampleRate)
        let contentFrames = samples.count / hop
        let mel: Matrix
        switch options.padding {
        case .audio where samples.count <= featureExtractor.nSamples:
            mel = featureExtractor(samples)
        case .audio:
            // openai-whisper's `log_mel_spectrogram(audio, padding=N_SAMPLES)`: 30 s of silence after the end.
            mel = featureExtractor.logMel(samples + [Float](repeating: 0, count: featureExtractor.nSamples))
        case .features:
            // faster-whisper's features: one hop of silence after the end, windows padded with zero frames.
            mel = featureExtractor.logMel(samples + [Float](repeating: 0, count: hop))
        }
        func window(at seek: Int, frames: Int) -> Matrix {
            options.padding == .audio
                ? zeroPadded(mel, rows: seek..<(seek + windowFrames))
                : zeroPadded(zeroPadded(mel, rows: seek..<(seek + frames)), rows: 0..<windowFrames)
        }

        var language = given ?? options.language ?? "en"
        var languageProbability = 1.0
        if isMultilingual && given == nil && options.language == nil {
            // faster-whisper detects on the first 30 s of all the log-mel frames, the last one (of
            // the padding hop) included, where decoding stops before it; on no audio at all (no
            // speech found), on that one frame, so the probability says how unsure it is.
            let frames = options.padding == .features ? min(windowFrames, mel.rows) : min(windowFrames, contentFrames)
            (language, languageProbability) = detectLanguageWithProbability(
                encoded: model.encode(window(at: 0, frames: frames)))
        }
        let decoder = windowDecoder()
        var generator = SplitMix64(seed: 0)
        var segments: [WhisperSegment] = []
        var promptTokens = initialPrompt  // the text since the last prompt reset, for the next window's prompt
        var seek = 0
        var lastSpeech = 0.0  // the last word's end (as aligned, before any cut)
        while seek < contentFrames {
            let timeOffset = Double(seek * hop) / Double(sampleRate)
            let segmentSize = min(windowFrames, contentFrames - seek)
            if let peak = options.silencePeak,
                samples[(seek * hop)..<min(samples.count, (seek + segmentSize) * hop)].allSatisfy({ abs($0) <= peak })
            {
                seek += segmentSize
                continue
            }
            let (prompt, sotIndex) = self.prompt(previous: promptTokens, language: language)
            let cross = model.crossStates(model.encode(window(at: seek, frames: segmentSize)))
            let result = decodeWithFallback(
                decoder, cross: cross, prompt: prompt, sotIndex: sotIndex, generator: &generator)
            if isSilence(result) {
                seek += segmentSize
                continue
            }
            var cut = cutSegments(result, timeOffset: timeOffset, segmentFrames: segmentSize, duration: duration)
            let ratio = windowCompressionRatio(result)
            for index in cut.segments.indices {
                cut.segments[index].seek = seek
                cut.segments[index].temperature = result.temperature
                cut.segments[index].averageLogProb = result.averageLogProb
                cut.segments[index].compressionRatio = ratio
                cut.segments[index].noSpeechProb = result.noSpeechProb
            }
            var nextSeek = seek + max(1, cut.framesConsumed)
            if options.wordTimestamps {
                let timed = addWordTimestamps(
                    cut.segments, cross: cross, frames: segmentSize, seek: seek,
                    language: language,
                    lastSpeech: lastSpeech)
                let lastEnd =
                    timed.segments.reversed().lazy.compactMap { $0.words.last?.end }.first ?? timed.segments.last?.end
                // A segment the words shrank to nothing is dropped, as faster-whisper drops it.
                var kept = timed.segments.filter { $0.end > $0.start }
                if options.seekToLastWord {
                    // As faster-whisper with word timestamps: unless the window ended on a lone
                    // timestamp, the next one starts where the last word ended.
                    if !cut.singleTimestampEnding, let lastEnd, lastEnd > timeOffset {
                        nextSeek = Int((lastEnd * Double(featureExtractor.framesPerSecond)).rounded(.toNearestOrEven))
                    }
                } else {
                    // The next window starts at the last timestamp, and no word of this one runs
                    // past it. (A segment whose words all lay beyond it keeps its text, at that time.)
                    let next = Double(nextSeek) / Double(featureExtractor.framesPerSecond)
                    for index in kept.indices { kept[index].cut(at: next) }
                }
                // As faster-whisper's last_speech_timestamp: the last word's end, uncut.
                if let lastEnd { lastSpeech = lastEnd }
                segments += kept
            } else {
                segments += cut.segments
            }
            if !options.conditionOnPreviousText || result.temperature > 0.5 {
                promptTokens = []
            } else {
                promptTokens += cut.segments.flatMap(\.tokens)
            }
            seek = nextSeek
            if let updates {
                updates.heard(min(duration, Double(seek * hop) / Double(sampleRate)))
                updates.decided(Recognition(made(segments)))
            }
        }
        return made(segments)

        func made(_ segments: [WhisperSegment]) -> WhisperTranscription {
            var transcription = WhisperTranscription(segments: segments, language: language, duration: duration)
            transcription.languageProbability = languageProbability
            transcription.languageWasDetected = isMultilingual && given == nil && options.language == nil
            return transcription
        }
    }

    /// Decodes a window at temperature 0 and, while the text looks like a loop (it compresses
    /// too well) or the model is unsure of it (low average log-probability), again at each higher
    /// temperature; a window the model deems silent (no-speech probability above its threshold
    /// and an average log-probability below its own) needs no other try, as faster-whisper
    /// decides. If every try fails, the likeliest of those that do not loop is kept, marked with
    /// the last temperature tried (which decides whether the prompt is reset), as faster-whisper
    /// keeps it.
    private func decodeWithFallback(
        _ decoder: WhisperWindowDecoder, cross: WhisperCrossStates, prompt: [Int], sotIndex: Int,
        generator: inout SplitMix64
    ) -> WhisperWindowResult {
        var tries: [(result: WhisperWindowResult, loops: Bool)] = []
        let temperatures = options.temperatures.isEmpty ? [0] : options.temperatures
        for temperature in temperatures {
            let result = decoder.decode(
                cross: cross, prompt: prompt, sotIndex: sotIndex,
                temperature: temperature, bestOf: options.bestOf, generator: &generator)
            let loops =
                options.compressionRatioThreshold.map { windowCompressionRatio(result) > $0 }
                ?? false
            let unsure = options.logProbThreshold.map { result.averageLogProb < $0 } ?? false
            let silent = unsure && (options.noSpeechThreshold.map { result.noSpeechProb > $0 } ?? false)
            if silent || !(loops || unsure) { return result }
            tries.append((result, loops))
        }
        let candidates = tries.contains { !$0.loops } ? tries.filter { !$0.loops } : tries
        var chosen =
            candidates.max { $0.result.averageLogProb < $1.result.averageLogProb }?.result
            ?? decoder.decode(cross: cross, prompt: prompt, sotIndex: sotIndex, generator: &generator)
        chosen.temperature = temperatures.last ?? 0
        return chosen
    }

    /// The decoder for `options` (the recognizer's own by default).
    func windowDecoder(_ options: WhisperDecodingOptions? = nil) -> WhisperWindowDecoder {
        let options = options ?? self.options
        var suppress = generation.suppressTokens.filter { $0 >= 0 }
        if options.suppressControlTokens {
            suppress += [
                specialTokens.transcribe, specialTokens.translate, specialTokens.startOfTranscript,
                specialTokens.startOfPrevious, specialTokens.startOfLM, specialTokens.noSpeech,
            ].compactMap { $0 }
        }
        let beginSuppress =
            options.suppressBlank
            ? generation.beginSuppressTokens ?? ([specialTokens.space, specialTokens.endOfText].compactMap { $0 }) : []
        let filter = WhisperLogitFilter(
            tokens: specialTokens, suppress: Array(Set(suppress)).sorted(), beginSuppress: beginSuppress,
            timestamps: options.timestamps,
            maxInitialTimestampIndex: generation.maxInitialTimestampIndex
                ?? Int((options.maxInitialTimestamp / WhisperSpecialTokens.timePrecision).rounded()))
        return WhisperWindowDecoder(
            model: model, tokens: specialTokens, filter: filter, beamSize: max(1, options.beamSize),
            patience: options.patience, lengthPenalty: options.lengthPenalty,
            sampleLength: options.sampleLength ?? model.config.maxTargetPositions / 2)
    }

    /// `[<|startofprev|>, previous text…]` when conditioning on it, then `<|startoftranscript|>`,
    /// the language and task (multilingual models), and `<|notimestamps|>` without timestamps;
    /// with the index of `<|startoftranscript|>`.
    func prompt(previous: [Int], language: String, timestamps: Bool? = nil) -> (tokens: [Int], sotIndex: Int) {
        var tokens: [Int] = []
        if let startOfPrevious = specialTokens.startOfPrevious, !previous.isEmpty {
            tokens = [startOfPrevious] + previous.suffix(model.config.maxTargetPositions / 2 - 1)
        }
        let sotIndex = tokens.count
        tokens.append(specialTokens.startOfTranscript)
        if isMultilingual {
            if let id = specialTokens.languages[language] { tokens.append(id) }
            if let task = options.task == .translate ? specialTokens.translate : specialTokens.transcribe {
                tokens.append(task)
            }
        }
        if !(timestamps ?? options.timestamps) { tokens.append(specialTokens.noTimestamps) }
        return (tokens, sotIndex)
    }

    /// How well a window's text compresses: its stripped text, as faster-whisper measures it.
    func windowCompressionRatio(_ result: WhisperWindowResult) -> Double {
        compressionRatio(tokenizer.decode(result.tokens).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The language token likeliest right after `<|startoftranscript|>`.
    func detectLanguage(encoded: Matrix) -> String {
        detectLanguageWithProbability(encoded: encoded).language
    }

    /// The same, with its probability among the language tokens (a softmax over their logits
    /// alone, as faster-whisper reports it).
    func detectLanguageWithProbability(encoded: Matrix) -> (language: String, probability: Double) {
        let logits = model.logits(tokens: [specialTokens.startOfTranscript], encoded: encoded)
        let best = specialTokens.languages.max { lhs, rhs in
            let (l, r) = (logits[0, lhs.value], logits[0, rhs.value])
            return l != r ? l < r : lhs.value > rhs.value
        }
        guard let best else { return ("en", 1) }
        let maximum = Double(logits[0, best.value])
        let sum = specialTokens.languages.values.reduce(0.0) { $0 + exp(Double(logits[0, $1]) - maximum) }
        return (best.key, 1 / sum)
    }

    /// The reference's test for a window without speech.
    private func isSilence(_ result: WhisperWindowResult) -> Bool {
        guard let threshold = options.noSpeechThreshold, result.noSpeechProb > threshold else { return false }
        if let logProbThreshold = options.logProbThreshold, result.averageLogProb > logProbThreshold { return false }
        return true
    }

    /// Cuts a window's tokens into segments at its timestamps and says how far the next window
    /// starts: after the last complete segment, or after the whole window when it ended on a
    /// single timestamp or had none.
    func cutSegments(
        _ result: WhisperWindowResult, timeOffset: Double, segmentFrames: Int, duration: Double,
        windowSeconds: Double? = nil, timestamps: Bool? = nil
    ) -> (segments: [WhisperSegment], framesConsumed: Int, singleTimestampEnding: Bool) {
        let tokens = result.tokens
        var logProbs = ArraySlice(result.tokenLogProbs)
        let isTimestamp = tokens.map(specialTokens.isTimestamp)
        let framesPerStep =
            Int((WhisperSpecialTokens.timePrecision * Double(sampleRate)).rounded()) / featureExtractor.hopLength
        func segment(_ slice: ArraySlice<Int>, start: Double, end: Double) -> WhisperSegment? {
            let text = slice.filter { $0 < specialTokens.endOfText }
            let textLogProbs = zip(slice, logProbs).filter { $0.0 < specialTokens.endOfText }.map { $0.1 }
            logProbs = logProbs.dropFirst(slice.count)
            let decoded = tokenizer.decode(text)
            guard !decoded.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
            let clampedStart = min(max(0, start), duration)
            return WhisperSegment(
                start: clampedStart, end: min(max(clampedStart, end), duration),
                tokens: Array(slice), textLogProbs: textLogProbs, text: decoded)
        }
        let windowDuration = windowSeconds ?? Double(segmentFrames * featureExtractor.hopLength) / Double(sampleRate)
        let singleTimestampEnding = isTimestamp.count >= 2 && !isTimestamp[isTimestamp.count - 2] && isTimestamp.last!
        let consecutive = (1..<max(1, tokens.count)).filter { isTimestamp[$0 - 1] && isTimestamp[$0] }
        guard timestamps ?? options.timestamps, !consecutive.isEmpty else {
            var end = windowDuration
            if let last = tokens.last(where: specialTokens.isTimestamp), last != specialTokens.timestampBegin {
                end = specialTokens.seconds(last)
            }
            let whole = segment(tokens[...], start: timeOffset, end: timeOffset + end)
            return (whole.map { [$0] } ?? [], segmentFrames, singleTimestampEnding)
        }
        var segments: [WhisperSegment] = []
        var lastSlice = 0
        for slice in consecutive + (singleTimestampEnding ? [tokens.count] : []) {
            let piece = tokens[lastSlice..<slice]
            if let made = segment(
                piece, start: timeOffset + specialTokens.seconds(piece.first!),
                end: timeOffset + specialTokens.seconds(piece.last!))
            {
                segments.append(made)
            }
            lastSlice = slice
        }
        if singleTimestampEnding { return (segments, segmentFrames, true) }
        let lastTimestampPosition = tokens[lastSlice - 1] - specialTokens.timestampBegin
        return (segments, lastTimestampPosition * framesPerStep, false)
    }
}

/// Decoding options a checkpoint cannot honour.
public enum WhisperOptionError: Error, CustomStringConvertible, Equatable {
    case unknownLanguage(String, available: [String])
    case translateNeedsMultilingual

    public var description: String {
        switch self {
        case .unknownLanguage(let code, let available):
            "the model has no language \"\(code)\"; it knows: \(available.joined(separator: ", "))"
        case .translateNeedsMultilingual:
            "the model is English-only; --task translate needs a multilingual model"
        }
    }
}

/// `rows` of `matrix`, with zero rows where they run past its end.
func zeroPadded(_ matrix: Matrix, rows: Range<Int>) -> Matrix {
    var out = Matrix(zeros: rows.count, matrix.cols)
    let available = rows.clamped(to: 0..<matrix.rows)
    if !available.isEmpty {
        let source = (available.lowerBound * matrix.cols)..<(available.upperBound * matrix.cols)
        out.data.replaceSubrange(0..<source.count, with: matrix.data[source])
    }
    return out
}

extension WhisperRecognizer: SpeechRecognizer {
    public var family: ModelFamily { .whisper }
    public var hasEmissions: Bool { false }

    /// One 30 s window at a time: each depends on the text of the one before.
    public func windowsAtOnce(threads: Int) -> Int { 1 }

    /// The encoder's attention scores `(heads, 1500, 1500)` beside its feed-forward activation.
    public var largestActivationBytes: Int {
        let config = model.config
        let frames = config.maxSourcePositions
        return (config.encoderAttentionHeads * frames * frames + 2 * frames * config.encoderFfnDim)
            * MemoryLayout<Float>.size
    }

    /// Reads the whole stream (Whisper's log-mel is normalised over the whole input), then
    /// transcribes it. An input longer than `maximumSeconds` is refused when it gets there, so
    /// that an endless stream cannot exhaust memory.
    public func recognize(stream: any SampleSource, keepingEmissions: Bool, updates: RecognitionUpdates?) throws
        -> Recognition
    {
        var samples: [Float] = []
        let limit = Int(Self.maximumSeconds) * sampleRate
        while true {
            let block = try stream.next()
            if block.isEmpty { break }
            samples += block
            if samples.count > limit { throw WhisperInputError.tooLong(seconds: Self.maximumSeconds) }
        }
        return Recognition(transcribe(samples: samples, updates: updates))
    }
}

extension Recognition {
    /// Whisper's transcription with its words as a timed transcript, one range per segment.
    init(_ transcription: WhisperTranscription) {
        let (transcript, segmentWords) = WhisperRecognizer.timedTranscript(transcription)
        self.init(transcript: transcript, segmentWords: segmentWords, emissions: nil, whisper: transcription)
    }
}

extension WhisperRecognizer {
    /// The longest input a Whisper model takes: 2 hours, whose samples and log-mel peak near 1.2 GB.
    public static let maximumSeconds = 2.0 * 3600
}

/// An input Whisper cannot take.
public enum WhisperInputError: Error, CustomStringConvertible, Equatable {
    case tooLong(seconds: Double)

    public var description: String {
        switch self {
        case .tooLong(let seconds):
            "longer than \(Int(seconds / 3600)) hours: a Whisper model reads an input whole; split it, e.g. `sox in.wav part.wav trim 0 3600 : newfile : restart`"
        }
    }
}
