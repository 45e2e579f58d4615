import Foundation

/// The ways one input's transcript can be written.
public enum OutputFormat: String, CaseIterable, Sendable {
    /// The transcript, one line per segment (a lone newline for no speech).
    case txt
    /// One pretty-printed JSON document with sorted keys: input, model, duration, text, words
    /// (with character timings on request) and segments.
    case json
    /// The json record on one line, ending in a newline: one line per input; or with
    /// `OutputOptions.segmentRecords`, one line per segment.
    case jsonl
    /// SubRip subtitles, one cue per segment. No speech gives an empty file (0 bytes).
    case srt
    /// WebVTT subtitles, one cue per segment. No speech gives the header alone.
    case vtt
    /// A header row, then one row per word: start, end, confidence, word, separated by tabs.
    case tsv

    /// The file name extension for this format, without the dot.
    public var fileExtension: String { rawValue }
}

/// Choices that shape the written text.
public struct OutputOptions: Sendable, Equatable {
    /// With json and jsonl: each word's character timings under `"characters"`.
    public var includeCharacters: Bool
    /// With srt and vtt: characters per line; a cue's text is wrapped at word boundaries.
    public var maximumLineLength: Int
    /// With srt and vtt: lines per cue.
    public var maximumLines: Int
    /// With srt and vtt: words per line; nil for no limit.
    public var maximumWordsPerLine: Int?
    /// With jsonl: one record per segment rather than one per input.
    public var segmentRecords: Bool

    public init(
        includeCharacters: Bool = false, maximumLineLength: Int = Segmenter.defaultMaximumLineLength,
        maximumLines: Int = Segmenter.defaultMaximumLines, maximumWordsPerLine: Int? = nil,
        segmentRecords: Bool = false
    ) {
        self.includeCharacters = includeCharacters
        self.maximumLineLength = maximumLineLength
        self.maximumLines = maximumLines
        self.maximumWordsPerLine = maximumWordsPerLine
        self.segmentRecords = segmentRecords
    }

    /// The cues these limits allow.
    public var segmenter: Segmenter {
        Segmenter(
            maximumLineLength: maximumLineLength, maximumLines: maximumLines, maximumWordsPerLine: maximumWordsPerLine)
    }

    /// The shortest time a cue stays on screen (where the next one leaves room): 5/6 s, the
    /// usual minimum for reading two words.
    public static let minimumCueDuration = 5.0 / 6.0
}

/// One input's result as the writers see it: its name, the model that heard it, its timed
/// transcript and that transcript's segments.
///
/// Every time is printed in whole milliseconds; rounding keeps their order, so cues and words
/// stay ordered and never overlap, and an end is never before its start.
public struct TranscriptOutput: Sendable, Equatable {
    /// The input as the user named it (a path, or `-` for standard input).
    public let input: String
    public let model: String
    public let transcript: TimedTranscript
    /// The cues of srt and vtt, and of json for models without segments of their own.
    public let segments: [TranscriptSegment]
    /// Whisper's own language and segments, which json and jsonl give as they are.
    public var whisper: WhisperTranscription? = nil
    /// With --vad: where the speech was, which json and jsonl list.
    public var speech: SpeechTimeline? = nil
    /// The words of each txt line where they are not those of each segment: Whisper's own
    /// segments, which end where its sentences and phrases do.
    public var lineWords: [Range<Int>]? = nil

    public init(input: String, model: String, transcript: TimedTranscript, segments: [TranscriptSegment]) {
        self.input = input
        self.model = model
        self.transcript = transcript
        self.segments = segments
    }

    /// The result with `transcript` cut into segments by `segmenter`.
    public init(input: String, model: String, transcript: TimedTranscript, segmenter: Segmenter = Segmenter()) {
        self.init(input: input, model: model, transcript: transcript, segments: segmenter.segments(transcript))
    }

    /// The whole text of this input in `format`.
    public func rendered(as format: OutputFormat, options: OutputOptions = OutputOptions()) -> String {
        switch format {
        case .txt: lines.isEmpty ? "\n" : lines.map { $0 + "\n" }.joined()
        case .json: jsonRecord(options).serialized(pretty: true) + "\n"
        case .jsonl where options.segmentRecords: segmentRecords(options).joined()
        case .jsonl: jsonRecord(options).serialized(pretty: false) + "\n"
        case .srt: subtitles(timestampSeparator: ",", options: options).joined(separator: "\n")
        case .vtt: "WEBVTT\n\n" + subtitles(timestampSeparator: ".", options: options).joined(separator: "\n")
        case .tsv: tsv()
        }
    }

    /// The beginning of `rendered(as:options:)` that words after these cannot change, when this
    /// output holds the words decided so far (see `Recognition.decidedSegments`): every line,
    /// row and segment record, and every cue but the last, whose end waits for the next one's
    /// start. Empty for json and per-input jsonl, which are written whole.
    public func decidedPart(as format: OutputFormat, options: OutputOptions = OutputOptions()) -> String {
        switch format {
        case .txt: lines.map { $0 + "\n" }.joined()
        case .json: ""
        case .jsonl: options.segmentRecords ? segmentRecords(options).joined() : ""
        case .srt: subtitles(timestampSeparator: ",", options: options).dropLast().map { $0 + "\n" }.joined()
        case .vtt:
            "WEBVTT\n\n" + subtitles(timestampSeparator: ".", options: options).dropLast().map { $0 + "\n" }.joined()
        case .tsv: tsv()
        }
    }

    /// The lines of the txt output: each segment's words (Whisper's own segments for Whisper),
    /// joined by spaces (by nothing in the languages Whisper writes without them).
    public var lines: [String] {
        (lineWords ?? segments.map(\.wordRange)).map {
            transcript.words[$0].map(\.text).joined(separator: wordSeparator)
        }
    }

    /// What goes between two words of a line: a space, or nothing in the languages Whisper
    /// writes without spaces.
    public var wordSeparator: String {
        whisper.map { WhisperRecognizer.languagesWithoutSpaces.contains($0.language) } == true ? "" : " "
    }

    /// The jsonl line for an input that could not be transcribed: `{"error":…,"input":…}` and a
    /// newline.
    public static func failureRecord(input: String, error: String) -> String {
        JSONValue.object(["input": .string(input), "error": .string(error)]).serialized(pretty: false) + "\n"
    }

    /// One cue per segment, each `number`, `start --> end`, its wrapped lines and a newline; the
    /// lines are SRT's (`,` before the milliseconds, cues numbered from 1) or WebVTT's (`.`, text
    /// escaped). A cue starts no earlier than the previous one ends.
    private func subtitles(timestampSeparator: Character, options: OutputOptions) -> [String] {
        var previousEnd = 0
        return segments.enumerated().map { number, segment in
            let start = max(milliseconds(segment.start), previousEnd)
            // A cue too short to read stays up to the minimum, where the next cue leaves room.
            let next =
                number + 1 < segments.count
                ? milliseconds(segments[number + 1].start) : milliseconds(transcript.duration)
            let end = max(
                milliseconds(segment.end), min(start + milliseconds(OutputOptions.minimumCueDuration), next), start)
            previousEnd = end
            return Self.cue(
                number: number + 1, start: start, end: end, words: segment.words,
                timestampSeparator: timestampSeparator, options: options)
        }
    }

    /// One cue: SRT's number (with `,` as the separator), `start --> end` in milliseconds, the
    /// words wrapped onto lines (escaped for WebVTT), and a newline.
    static func cue(
        number: Int, start: Int, end: Int, words: [TimedTranscript.Word], timestampSeparator: Character,
        options: OutputOptions
    ) -> String {
        let texts = words.map { timestampSeparator == "." ? escapedForWebVTT($0.text) : $0.text }
        let lines = SubtitleLines.wrap(
            texts, width: options.maximumLineLength, wordsPerLine: options.maximumWordsPerLine)
        let timing =
            timestamp(start, separator: timestampSeparator) + " --> " + timestamp(end, separator: timestampSeparator)
        let header = timestampSeparator == "," ? "\(number)\n" + timing : timing
        return header + "\n" + lines.joined(separator: "\n") + "\n"
    }

    private func tsv() -> String {
        Self.tsvHeader + transcript.words.map(Self.tsvRow).joined()
    }

    /// A transcript's tsv header row.
    public static let tsvHeader = "start\tend\tconfidence\tword\n"

    /// A word's tsv row: start, end, confidence, word, and a newline.
    static func tsvRow(_ word: TimedTranscript.Word) -> String {
        "\(decimal(milliseconds(word.start)))\t\(decimal(milliseconds(word.end)))\t"
            + "\(decimal(thousandths(word.confidence)))\t\(word.text)\n"
    }
}

/// `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (WebVTT) for a time in milliseconds; hours take more
/// digits past 99.
func timestamp(_ milliseconds: Int, separator: Character) -> String {
    let milliseconds = max(0, milliseconds)
    let seconds = milliseconds / 1000
    return "\(padded(seconds / 3600, 2)):\(padded(seconds / 60 % 60, 2)):\(padded(seconds % 60, 2))"
        + "\(separator)\(padded(milliseconds % 1000, 3))"
}

/// A count of thousandths as a decimal with three places: 1234 -> `1.234`, 5 -> `0.005`.
func decimal(_ thousandths: Int) -> String {
    "\(thousandths / 1000).\(padded(thousandths % 1000, 3))"
}

/// A value in [0, 1] as whole thousandths.
func thousandths(_ value: Double) -> Int {
    value > 0 ? Int((min(value, 1) * 1000).rounded()) : 0
}

/// A non-negative number with leading zeros to `digits` digits.
private func padded(_ value: Int, _ digits: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}

/// WebVTT cue text must spell `&`, `<` and `>` as character references.
func escapedForWebVTT(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;")
        .replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;")
}

extension Recognition {
    /// A recognition of the words decided so far (see `RecognitionUpdates.decided`) cut to
    /// what no later word can change in the output: Whisper's segments are final as they come,
    /// while the last group of CTC words may still be joined by the next word, up to the last
    /// pause that `segmenter` starts a new segment at.
    public func decidedSegments(_ segmenter: Segmenter) -> Recognition {
        guard segmentWords == nil else { return self }
        let words = transcript.words
        let closed =
            words.indices.dropFirst().last {
                milliseconds(words[$0].start) - milliseconds(words[$0 - 1].end) >= milliseconds(segmenter.pause)
            } ?? 0
        var cut = self
        cut.transcript = TimedTranscript(
            text: words[..<closed].map(\.text).joined(separator: " "), duration: transcript.duration,
            words: Array(words[..<closed]))
        return cut
    }

    /// The output record for `input`: Whisper's segments, each cut further where it is too long
    /// for a subtitle, or the CTC words cut by `segmenter`.
    public func output(input: String, model: String, transcript: TimedTranscript, segmenter: Segmenter = Segmenter())
        -> TranscriptOutput
    {
        guard let segmentWords else {
            var output = TranscriptOutput(input: input, model: model, transcript: transcript, segmenter: segmenter)
            output.speech = speech
            return output
        }
        var segments: [TranscriptSegment] = []
        for range in segmentWords where !range.isEmpty {
            let part = TimedTranscript(
                text: transcript.words[range].map(\.text).joined(separator: " "), duration: transcript.duration,
                words: Array(transcript.words[range]))
            for piece in segmenter.segments(part) {
                let words =
                    (range.lowerBound + piece.wordRange.lowerBound)..<(range.lowerBound + piece.wordRange.upperBound)
                segments.append(TranscriptSegment(id: segments.count, wordRange: words, of: transcript))
            }
        }
        var output = TranscriptOutput(input: input, model: model, transcript: transcript, segments: segments)
        output.lineWords = segmentWords.filter { !$0.isEmpty }
        output.whisper = whisper
        output.speech = speech
        return output
    }
}

extension OutputFormat {
    /// Whether the file at `path` is a whole output of this format, as this tool writes it: a
    /// regular file that ends where a document ends (and for json and jsonl, parses as one
    /// record). `--skip-existing` counts only such a file as done; an empty file, a folder or a
    /// file cut short by something else is done again. An empty `.srt` is whole: it is what no
    /// speech gives.
    public func isComplete(fileAt path: BytePath) -> Bool {
        var status = stat()
        guard path.withCString({ stat($0, &status) }) == 0, status.st_mode & S_IFMT == S_IFREG,
            let data = readFile(path)
        else { return false }
        return isComplete(data)
    }

    /// Whether `data` is a whole document of this format (see `isComplete(fileAt:)`).
    public func isComplete(_ data: Data) -> Bool {
        if self == .srt && data.isEmpty { return true }
        guard data.last == UInt8(ascii: "\n") else { return false }
        func isRecord(_ bytes: Data) -> Bool {
            // A transcript's record has its text; a classification's, its labels.
            let record = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any]
            return record?["text"] is String || record?["labels"] is [Any]
        }
        switch self {
        case .txt: return true
        case .json: return isRecord(data)
        case .jsonl:
            // One record per input, or with --segments one per segment.
            return data.dropLast().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                .allSatisfy(isRecord)
        case .srt: return data.starts(with: "1\n".utf8)
        case .vtt: return data.starts(with: "WEBVTT\n".utf8)
        case .tsv:
            return data.starts(with: TranscriptOutput.tsvHeader.utf8)
                || data.starts(with: ClassificationOutput.tsvHeader.utf8)
        }
    }
}

/// The bytes of the file at `path`, or nil.
private func readFile(_ path: BytePath) -> Data? {
    let descriptor = path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    return try? FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).readToEnd() ?? Data()
}
