import Foundation

/// What one input became, whichever model family heard it: what the writers print.
public struct Recognition: Sendable {
    public let transcript: TimedTranscript
    /// The model's own segments as ranges of `transcript.words` (Whisper's timestamps); nil
    /// where the writers cut segments themselves (CTC).
    public let segmentWords: [Range<Int>]?
    /// `(frames, vocab)` CTC log-probabilities for `--emissions`; nil for Whisper.
    public let emissions: Matrix?

    public var duration: Double { transcript.duration }

    /// The output record for `input`: Whisper's segments, each cut further where it is too long
    /// for a subtitle, or the CTC words cut by `segmenter`.
    public func output(input: String, model: String, transcript: TimedTranscript, segmenter: Segmenter = Segmenter()) -> TranscriptOutput {
        guard let segmentWords else { return TranscriptOutput(input: input, model: model, transcript: transcript, segmenter: segmenter) }
        var segments: [TranscriptSegment] = []
        for range in segmentWords where !range.isEmpty {
            let part = TimedTranscript(
                text: transcript.words[range].map(\.text).joined(separator: " "), duration: transcript.duration,
                words: Array(transcript.words[range]))
            for piece in segmenter.segments(part) {
                let words = (range.lowerBound + piece.wordRange.lowerBound)..<(range.lowerBound + piece.wordRange.upperBound)
                segments.append(TranscriptSegment(id: segments.count, wordRange: words, of: transcript))
            }
        }
        return TranscriptOutput(input: input, model: model, transcript: transcript, segments: segments)
    }
}

/// A loaded model of either family: audio stream in, recognition out.
public protocol SpeechRecognizer: Sendable {
    var directory: ModelDirectory { get }
    /// The rate the model takes its samples at.
    var sampleRate: Int { get }
    /// `"wav2vec2"` or `"whisper"`.
    var family: String { get }
    /// Whether `recognize` fills `emissions`.
    var hasEmissions: Bool { get }
    /// Transcribes `stream`; `keepingEmissions` keeps the CTC log-probabilities, which otherwise
    /// are dropped window by window.
    func recognize(stream: AudioStream, keepingEmissions: Bool) throws -> Recognition
}

/// Loads the model in `directory`, of the family its config.json's `model_type` names.
public func loadRecognizer(directory: ModelDirectory, whisperOptions: WhisperDecodingOptions = WhisperDecodingOptions()) throws -> any SpeechRecognizer {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw ModelError.missingFile(path: directory.path)
    }
    struct Family: Decodable { var model_type: String? }
    let configPath = directory.file("config.json")
    switch try decodeJSONFile(Family.self, path: configPath).model_type {
    case "whisper": return try WhisperTranscriber(directory: directory, options: whisperOptions)
    case "wav2vec2", nil: return try Transcriber(directory: directory)
    case let other?:
        throw ModelError.unsupportedConfig(
            path: configPath, field: "model_type", reason: "\"\(other)\"; transcribe runs wav2vec2 and whisper checkpoints")
    }
}

extension Transcriber: SpeechRecognizer {
    public var family: String { "wav2vec2" }
    public var hasEmissions: Bool { true }

    public func recognize(stream: AudioStream, keepingEmissions: Bool) throws -> Recognition {
        let transcription = try transcribe(stream: stream, keepingLogProbs: keepingEmissions)
        return Recognition(
            transcript: TimedTranscript(transcription, vocabulary: decoder.vocabulary), segmentWords: nil,
            emissions: keepingEmissions ? transcription.logProbs : nil)
    }
}

extension WhisperTranscriber: SpeechRecognizer {
    public var family: String { "whisper" }
    public var hasEmissions: Bool { false }

    /// Reads the whole stream (Whisper's log-mel is normalised over the whole input), then
    /// transcribes it. An input longer than `maximumSeconds` is refused when it gets there, so
    /// that an endless stream cannot exhaust memory.
    public func recognize(stream: AudioStream, keepingEmissions: Bool) throws -> Recognition {
        var samples: [Float] = []
        let limit = Int(Self.maximumSeconds) * sampleRate
        while true {
            let block = try stream.next()
            if block.isEmpty { break }
            samples += block
            if samples.count > limit { throw WhisperInputError.tooLong(seconds: Self.maximumSeconds) }
        }
        let transcription = transcribe(samples: samples)
        let (transcript, segmentWords) = timedTranscript(transcription)
        return Recognition(transcript: transcript, segmentWords: segmentWords, emissions: nil)
    }

    /// The words of each segment with times spread over the segment in proportion to their
    /// length (Whisper times segments, not words), each token's confidence its probability.
    public func timedTranscript(_ transcription: WhisperTranscription) -> (TimedTranscript, [Range<Int>]) {
        var words: [TimedTranscript.Word] = []
        var ranges: [Range<Int>] = []
        for segment in transcription.segments {
            let first = words.count
            // Text pieces: whole UTF-8 characters, each from one token or a few that share a character.
            var pieces: [(text: String, logProb: Float)] = []
            var pending: [UInt8] = [], pendingLogProb: Float = 0
            for (token, logProb) in zip(segment.tokens.filter { $0 < specialTokens.endOfText }, segment.textLogProbs) {
                pending += tokenizer.bytes(of: token)
                pendingLogProb += logProb
                if let text = String(validating: pending, as: UTF8.self) {
                    pieces.append((text, pendingLogProb))
                    pending = []
                    pendingLogProb = 0
                }
            }
            if !pending.isEmpty { pieces.append((String(decoding: pending, as: UTF8.self), pendingLogProb)) }
            let totalLength = pieces.reduce(0) { $0 + $1.text.trimmingCharacters(in: .whitespaces).count }
            let span = segment.end - segment.start
            var consumed = 0
            var characters: [TimedTranscript.CharacterTiming] = []
            func endWord() {
                if !characters.isEmpty { words.append(TimedTranscript.Word(characters: characters)) }
                characters = []
            }
            for piece in pieces {
                if piece.text.first?.isWhitespace == true { endWord() }
                let text = piece.text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty else { continue }
                let start = segment.start + span * Double(consumed) / Double(max(totalLength, 1))
                consumed += text.count
                let end = segment.start + span * Double(consumed) / Double(max(totalLength, 1))
                characters.append(.init(text: text, start: start, end: end, confidence: Double(exp(piece.logProb))))
                if piece.text.last?.isWhitespace == true { endWord() }
            }
            endWord()
            ranges.append(first..<words.count)
        }
        let transcript = TimedTranscript(
            text: words.map(\.text).joined(separator: " "), duration: transcription.duration, words: words)
        return (transcript, ranges)
    }
}

extension WhisperTranscriber {
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
