/// A run of consecutive words shown together: one subtitle cue.
public struct TranscriptSegment: Sendable, Equatable {
    /// Its position among the transcript's segments, from 0 (SRT numbers cues from 1).
    public let id: Int
    /// Seconds: its first word's start and its last word's end.
    public let start: Double
    public let end: Double
    /// Its words joined by single spaces.
    public let text: String
    /// Where its words are in `TimedTranscript.words`; never empty.
    public let wordRange: Range<Int>
    public let words: [TimedTranscript.Word]

    public init(id: Int, wordRange: Range<Int>, of transcript: TimedTranscript) {
        self.id = id
        self.wordRange = wordRange
        words = Array(transcript.words[wordRange])
        start = words.first?.start ?? 0
        end = words.last?.end ?? 0
        text = words.map(\.text).joined(separator: " ")
    }
}

/// Cuts a transcript into subtitle segments between words, never inside one: a new segment
/// starts after a pause, or where the next word would make the segment too long to read, as
/// text or as time. Greedy and deterministic: each segment takes words until one of the limits
/// stops it. A single word breaking a limit on its own becomes a segment of its own.
///
/// Defaults follow common subtitling practice: 2 lines of 42 characters, at most 6 s on screen.
public struct Segmenter: Sendable, Equatable {
    /// Seconds of silence between two words at which a new segment starts (a gap `>=` this).
    public var pause: Double
    /// Seconds from a segment's start to its end that it may not exceed.
    public var maximumDuration: Double
    /// Characters per line when the segment is wrapped at word boundaries.
    public var maximumLineLength: Int
    /// Lines a segment's text may fill when wrapped to `maximumLineLength`.
    public var maximumLines: Int

    public static let defaultPause = 0.5
    public static let defaultMaximumDuration = 6.0
    public static let defaultMaximumLineLength = 42
    public static let defaultMaximumLines = 2

    public init(
        pause: Double = defaultPause,
        maximumDuration: Double = defaultMaximumDuration,
        maximumLineLength: Int = defaultMaximumLineLength,
        maximumLines: Int = defaultMaximumLines
    ) {
        self.pause = pause
        self.maximumDuration = maximumDuration
        self.maximumLineLength = maximumLineLength
        self.maximumLines = maximumLines
    }

    /// The segments of `transcript`, in order; none for a transcript without words. Times are
    /// compared in whole milliseconds, as the writers print them.
    public func segments(_ transcript: TimedTranscript) -> [TranscriptSegment] {
        let words = transcript.words
        var segments: [TranscriptSegment] = []
        var first = 0
        var layout = LineLayout(width: maximumLineLength)
        for (index, word) in words.enumerated() {
            if index > first {
                let gap = milliseconds(word.start) - milliseconds(words[index - 1].end)
                let length = milliseconds(word.end) - milliseconds(words[first].start)
                var widened = layout
                widened.append(word.text)
                if gap >= milliseconds(pause) || length > milliseconds(maximumDuration) || widened.lines > maximumLines
                {
                    segments.append(TranscriptSegment(id: segments.count, wordRange: first..<index, of: transcript))
                    first = index
                    layout = LineLayout(width: maximumLineLength)
                }
            }
            layout.append(word.text)
        }
        if first < words.count {
            segments.append(TranscriptSegment(id: segments.count, wordRange: first..<words.count, of: transcript))
        }
        return segments
    }
}

/// Subtitle text on lines broken at word boundaries.
public enum SubtitleLines {
    /// `words` on as few lines of at most `width` characters as hold them, with the longest line
    /// as short as that number of lines allows: two lines come out about even, not one full and
    /// one with a word. A word longer than `width` gets a line of its own.
    public static func wrap(_ words: [String], width: Int) -> [String] {
        let lineCount = greedy(words, width: width).count
        guard lineCount > 1 else { return greedy(words, width: width) }
        // The fewest lines greedy wrapping gives only grows as the width shrinks: find the
        // narrowest width that still needs no more lines.
        var narrowest = 1
        var widest = width
        while narrowest < widest {
            let middle = (narrowest + widest) / 2
            if greedy(words, width: middle).count <= lineCount { widest = middle } else { narrowest = middle + 1 }
        }
        return greedy(words, width: widest)
    }

    /// Fills each line with as many words as fit in `width` characters before starting the next.
    public static func greedy(_ words: [String], width: Int) -> [String] {
        var lines: [String] = []
        for word in words {
            if let last = lines.last, last.count + 1 + word.count <= width {
                lines[lines.count - 1] += " " + word
            } else {
                lines.append(word)
            }
        }
        return lines
    }
}

/// How many lines greedy wrapping fills so far, kept word by word.
private struct LineLayout {
    let width: Int
    private(set) var lines = 0
    private var lastLineLength = 0

    init(width: Int) { self.width = width }

    mutating func append(_ word: String) {
        if lines > 0, lastLineLength + 1 + word.count <= width {
            lastLineLength += 1 + word.count
        } else {
            lines += 1
            lastLineLength = word.count
        }
    }
}

/// Seconds as whole milliseconds, the resolution every writer prints: never negative (nor for
/// NaN), and at most 10^15 (about 31,000 years, so an infinite limit never triggers).
func milliseconds(_ seconds: Double) -> Int {
    guard seconds > 0 else { return 0 }
    return Int(min(seconds * 1000, 1e15).rounded())
}
