import Foundation

/// The output of a live stream, written as its words become final: segments are cut as the words
/// come (at a pause, or where the next word would break the subtitle limits), since the phrase's
/// end cannot be waited for. txt prints each word at once and ends the line with its segment; tsv
/// prints each word's row; jsonl, srt and vtt print each segment once the word after it (or the
/// end) is known. Holds the words of one segment at most.
public struct LiveOutput: Sendable {
    public let format: OutputFormat
    public let input: String
    public let model: String
    public let options: OutputOptions
    private let segmenter: Segmenter
    /// The final words of the segment in progress.
    public private(set) var segment: [TimedTranscript.Word] = []
    private var segmentsWritten = 0
    /// The end of the last cue written, in milliseconds.
    private var previousCueEnd = 0

    /// `json` is one document: it cannot be written as a stream.
    public init?(format: OutputFormat, input: String, model: String, options: OutputOptions) {
        guard format != .json else { return nil }
        self.format = format
        self.input = input
        self.model = model
        self.options = options
        segmenter = options.segmenter
    }

    /// What comes before the first word: vtt's and tsv's headers.
    public var header: String {
        switch format {
        case .vtt: "WEBVTT\n\n"
        case .tsv: TranscriptOutput.tsvHeader
        default: ""
        }
    }

    /// Takes final words; returns what to print now.
    public mutating func add(_ words: [TimedTranscript.Word]) -> String {
        var text = ""
        for word in words {
            if !segment.isEmpty && !segmenter.continues(segment, with: word) {
                text += endSegment(nextStart: word.start)
            }
            switch format {
            case .txt: text += (segment.isEmpty ? "" : " ") + word.text
            case .tsv: text += TranscriptOutput.tsvRow(word)
            default: break
            }
            segment.append(word)
        }
        return text
    }

    /// The stream ended after `heard` seconds: what ends the last segment.
    public mutating func finish(heard: Double) -> String {
        segment.isEmpty ? "" : endSegment(nextStart: heard)
    }

    /// The segment in progress is done: txt's newline, or the segment's record or cue.
    private mutating func endSegment(nextStart: Double) -> String {
        defer {
            segment = []
            segmentsWritten += 1
        }
        let transcript = TimedTranscript(
            text: segment.map(\.text).joined(separator: " "), duration: nextStart, words: segment)
        switch format {
        case .txt:
            return "\n"
        case .tsv, .json:
            return ""
        case .jsonl:
            let output = TranscriptOutput(
                input: input, model: model, transcript: transcript,
                segments: [TranscriptSegment(id: segmentsWritten, wordRange: 0..<segment.count, of: transcript)])
            return output.segmentRecords(options).joined()
        case .srt, .vtt:
            let start = max(milliseconds(transcript.words[0].start), previousCueEnd)
            let end = max(
                milliseconds(segment[segment.count - 1].end),
                min(start + milliseconds(OutputOptions.minimumCueDuration), milliseconds(nextStart)), start)
            previousCueEnd = end
            return TranscriptOutput.cue(
                number: segmentsWritten + 1, start: start, end: end, words: segment,
                timestampSeparator: format == .srt ? "," : ".", options: options) + "\n"
        }
    }
}
