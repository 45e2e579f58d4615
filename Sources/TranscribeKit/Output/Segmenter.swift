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

/// Cuts a transcript into subtitle segments between words, never inside one. A new segment
/// always starts after a pause. Between pauses, the words go into as few segments as the limits
/// allow (lines of `maximumLineLength` characters and at most `maximumWordsPerLine` words, at most
/// `maximumLines` lines, at most `maximumDuration` on screen); among those, into the fewest
/// one-word segments (a word is left alone only where its neighbours cannot take it within the
/// limits), then into segments of the most even length. A single word breaking a limit on its
/// own becomes a segment of its own. Deterministic.
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
    /// Words a line may hold; nil for no limit.
    public var maximumWordsPerLine: Int?

    public static let defaultPause = 0.5
    public static let defaultMaximumDuration = 6.0
    public static let defaultMaximumLineLength = 42
    public static let defaultMaximumLines = 2

    public init(
        pause: Double = defaultPause,
        maximumDuration: Double = defaultMaximumDuration,
        maximumLineLength: Int = defaultMaximumLineLength,
        maximumLines: Int = defaultMaximumLines,
        maximumWordsPerLine: Int? = nil
    ) {
        self.pause = pause
        self.maximumDuration = maximumDuration
        self.maximumLineLength = maximumLineLength
        self.maximumLines = maximumLines
        self.maximumWordsPerLine = maximumWordsPerLine
    }

    /// The segments of `transcript`, in order; none for a transcript without words. Times are
    /// compared in whole milliseconds, as the writers print them.
    public func segments(_ transcript: TimedTranscript) -> [TranscriptSegment] {
        let words = transcript.words
        var segments: [TranscriptSegment] = []
        var first = 0
        for index in words.indices
        where index == words.count - 1
            || milliseconds(words[index + 1].start) - milliseconds(words[index].end) >= milliseconds(pause)
        {
            for range in partition(words, first..<(index + 1)) {
                segments.append(TranscriptSegment(id: segments.count, wordRange: range, of: transcript))
            }
            first = index + 1
        }
        return segments
    }

    /// Whether `word` may join the segment `words` as it comes (live output, which cannot wait
    /// for the whole phrase): no pause before it, and the segment with it within the limits.
    public func continues(_ words: [TimedTranscript.Word], with word: TimedTranscript.Word) -> Bool {
        guard let first = words.first, let last = words.last else { return false }
        guard milliseconds(word.start) - milliseconds(last.end) < milliseconds(pause),
            milliseconds(word.end) - milliseconds(first.start) <= milliseconds(maximumDuration)
        else { return false }
        var layout = LineLayout(width: maximumLineLength, wordsPerLine: maximumWordsPerLine)
        for text in words.map(\.text) + [word.text] { layout.append(text) }
        return layout.lines <= maximumLines
    }

    /// The words of `phrase` (no pause inside) in segments: the fewest, then the fewest of one
    /// word, then the most even (least sum of squared text lengths).
    private func partition(_ words: [TimedTranscript.Word], _ phrase: Range<Int>) -> [Range<Int>] {
        typealias Cost = (segments: Int, single: Int, squares: Int)
        func better(_ a: Cost, _ b: Cost) -> Bool {
            (a.segments, a.single, a.squares) < (b.segments, b.single, b.squares)
        }
        let start = phrase.lowerBound
        // best[k]: the cheapest way to cut the phrase's first k words; from[k]: where its last segment starts.
        var best = [Cost?](repeating: nil, count: phrase.count + 1)
        var from = [Int](repeating: 0, count: phrase.count + 1)
        best[0] = (0, 0, 0)
        for begin in 0..<phrase.count {
            guard let before = best[begin] else { continue }
            var layout = LineLayout(width: maximumLineLength, wordsPerLine: maximumWordsPerLine)
            var length = -1
            for end in (begin + 1)...phrase.count {
                let word = words[start + end - 1]
                layout.append(word.text)
                length += 1 + word.text.count
                let duration = milliseconds(word.end) - milliseconds(words[start + begin].start)
                let alone = end == begin + 1
                guard alone || (layout.lines <= maximumLines && duration <= milliseconds(maximumDuration)) else {
                    break
                }
                let cost: Cost = (
                    before.segments + 1, before.single + (alone ? 1 : 0), before.squares + length * length
                )
                if best[end].map({ better(cost, $0) }) ?? true {
                    best[end] = cost
                    from[end] = begin
                }
            }
        }
        var ranges: [Range<Int>] = []
        var end = phrase.count
        while end > 0 {
            ranges.append((start + from[end])..<(start + end))
            end = from[end]
        }
        return ranges.reversed()
    }
}

/// Subtitle text on lines broken at word boundaries.
public enum SubtitleLines {
    /// `words` on as few lines of at most `width` characters as hold them, with the longest line
    /// as short as that number of lines allows: two lines come out about even, not one full and
    /// one with a word. A word longer than `width` gets a line of its own.
    public static func wrap(_ words: [String], width: Int, wordsPerLine: Int? = nil) -> [String] {
        let lineCount = greedy(words, width: width, wordsPerLine: wordsPerLine).count
        guard lineCount > 1 else { return greedy(words, width: width, wordsPerLine: wordsPerLine) }
        // The fewest lines greedy wrapping gives only grows as the width shrinks: find the
        // narrowest width that still needs no more lines.
        var narrowest = 1
        var widest = width
        while narrowest < widest {
            let middle = (narrowest + widest) / 2
            if greedy(words, width: middle, wordsPerLine: wordsPerLine).count <= lineCount {
                widest = middle
            } else {
                narrowest = middle + 1
            }
        }
        return greedy(words, width: widest, wordsPerLine: wordsPerLine)
    }

    /// Fills each line with as many words as fit in `width` characters (and `wordsPerLine` words)
    /// before starting the next.
    public static func greedy(_ words: [String], width: Int, wordsPerLine: Int? = nil) -> [String] {
        var lines: [String] = []
        var lastLineWords = 0
        for word in words {
            if let last = lines.last, last.count + 1 + word.count <= width, lastLineWords < (wordsPerLine ?? .max) {
                lines[lines.count - 1] += " " + word
                lastLineWords += 1
            } else {
                lines.append(word)
                lastLineWords = 1
            }
        }
        return lines
    }
}

/// How many lines greedy wrapping fills so far, kept word by word.
private struct LineLayout {
    let width: Int
    let wordsPerLine: Int?
    private(set) var lines = 0
    private var lastLineLength = 0
    private var lastLineWords = 0

    init(width: Int, wordsPerLine: Int? = nil) {
        self.width = width
        self.wordsPerLine = wordsPerLine
    }

    mutating func append(_ word: String) {
        if lines > 0, lastLineLength + 1 + word.count <= width, lastLineWords < (wordsPerLine ?? .max) {
            lastLineLength += 1 + word.count
            lastLineWords += 1
        } else {
            lines += 1
            lastLineLength = word.count
            lastLineWords = 1
        }
    }
}

/// Seconds as whole milliseconds, the resolution every writer prints: never negative (nor for
/// NaN), and at most 10^15 (about 31,000 years, so an infinite limit never triggers).
func milliseconds(_ seconds: Double) -> Int {
    guard seconds > 0 else { return 0 }
    return Int(min(seconds * 1000, 1e15).rounded())
}
