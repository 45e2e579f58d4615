import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Hand-made model outputs: a path of argmax ids per frame, decoded as the transcriber does.
enum Spoken {
    // 0 <pad> (blank), 1 <s>, 2 </s>, 3 <unk>, 4 |, 5 ', then A to Z.
    static let vocabulary = try! Vocabulary(
        tokens: ["<pad>", "<s>", "</s>", "<unk>", "|", "'"] + (65...90).map { String(UnicodeScalar($0)!) })
    static let decoder = CTCGreedyDecoder(vocabulary: vocabulary)
    static let frameDuration = 0.02

    static func id(_ character: Character) -> Int {
        character == " " ? 4 : vocabulary.tokens.firstIndex(of: String(character))!
    }

    /// `(frames, vocab)` log-probabilities where each frame's path id has probability
    /// `probabilities[frame]` (0.9 where not given) and the other ids share the rest.
    static func transcription(path: [Int], probabilities: [Int: Float] = [:], duration: Double? = nil)
        -> CTCTranscription
    {
        let vocab = vocabulary.count
        var logProbs = Matrix(zeros: path.count, vocab)
        for (frame, id) in path.enumerated() {
            let probability = probabilities[frame] ?? 0.9
            for other in 0..<vocab { logProbs[frame, other] = log(max((1 - probability) / Float(vocab - 1), 1e-12)) }
            logProbs[frame, id] = log(probability)
        }
        let tokens = decoder.tokens(path)
        return CTCTranscription(
            text: decoder.text(tokens), logProbs: logProbs, tokens: tokens, frameDuration: frameDuration,
            duration: duration ?? Double(path.count) * frameDuration)
    }

    /// A path of `frames` frames with each word starting at its frame: every letter one frame
    /// then a blank, the word delimiter in the blank after its last letter.
    static func path(_ words: [(String, Int)], frames: Int) -> [Int] {
        var path = [Int](repeating: 0, count: frames)
        for (word, start) in words {
            for (index, letter) in word.enumerated() { path[start + 2 * index] = id(letter) }
            path[start + 2 * word.count - 1] = id(" ")
        }
        return path
    }

    static func transcript(_ words: [(String, Int)], frames: Int) -> TimedTranscript {
        TimedTranscript(transcription(path: path(words, frames: frames)), vocabulary: vocabulary)
    }
}

/// A transcript of words placed by hand, one character timing per letter: `(text, start, end)`.
func handMadeTranscript(_ words: [(String, Double, Double)], duration: Double, confidence: Double = 0.9)
    -> TimedTranscript
{
    let timed = words.map { text, start, end in
        let step = (end - start) / Double(text.count)
        return TimedTranscript.Word(
            characters: text.enumerated().map { index, letter in
                .init(
                    text: String(letter), start: start + Double(index) * step, end: start + Double(index + 1) * step,
                    confidence: confidence)
            })
    }
    return TimedTranscript(text: timed.map(\.text).joined(separator: " "), duration: duration, words: timed)
}

@Suite struct TimedTranscriptTests {
    @Test func wordBoundariesAndTimesComeFromTheTokensFrames() {
        // Frames: 0 blank, 1-2 A, 3 B, 4 blank, 5-6 |, 7 C, 8 blank, 9 |.
        let path = [0, 6, 6, 7, 0, 4, 4, 8, 0, 4]
        let transcript = TimedTranscript(Spoken.transcription(path: path), vocabulary: Spoken.vocabulary)
        #expect(transcript.text == "AB C")
        #expect(transcript.words.map(\.text) == ["AB", "C"])
        #expect(transcript.words.map(\.start).isClose(to: [0.02, 0.14]))
        #expect(transcript.words.map(\.end).isClose(to: [0.08, 0.16]))
        #expect(transcript.words[0].characters.map(\.text) == ["A", "B"])
        #expect(transcript.words[0].characters.map(\.start).isClose(to: [0.02, 0.06]))
        #expect(transcript.words[0].characters.map(\.end).isClose(to: [0.06, 0.08]))
        #expect(abs(transcript.duration - 0.2) < 1e-9)
    }

    @Test func confidenceIsTheMeanProbabilityOfATokenAndTheGeometricMeanOfAWord() {
        // A over frames 0-1 at 0.9 and 0.7, B at frame 2 at 0.5, C at frame 4 at 0.6.
        let path = [6, 6, 7, 4, 8]
        let transcription = Spoken.transcription(path: path, probabilities: [0: 0.9, 1: 0.7, 2: 0.5, 4: 0.6])
        let transcript = TimedTranscript(transcription, vocabulary: Spoken.vocabulary)
        #expect(transcript.words[0].characters.map(\.confidence).isClose(to: [0.8, 0.5], tolerance: 1e-6))
        #expect(abs(transcript.words[0].confidence - (0.8 * 0.5).squareRoot()) < 1e-6)
        #expect(abs(transcript.words[1].confidence - 0.6) < 1e-6)
    }

    @Test(
        arguments: [
            [6, 6, 7],
            [4, 6, 4, 0, 4, 7, 4],  // delimiters at the ends and in runs
            [6, 1, 6, 3, 7, 4, 2, 8],  // <s>, <unk>, </s> between letters
            [0, 5, 14, 0, 17, 4, 0, 10, 0, 4, 5, 5, 0],  // apostrophes, a word of apostrophes
            [0, 0, 0],
            [4, 4],
            [],
        ] as [[Int]])
    func wordsJoinToExactlyTheDecodersText(_ path: [Int]) {
        let transcription = Spoken.transcription(path: path)
        let transcript = TimedTranscript(transcription, vocabulary: Spoken.vocabulary)
        #expect(transcript.text == transcription.text)
        #expect(transcript.words.map(\.text).joined(separator: " ") == transcription.text)
        #expect(transcript.words.allSatisfy { !$0.text.isEmpty && !$0.text.contains(" ") })
    }

    @Test func timesAreMonotonicAndInsideTheAudio() {
        // The model's last frame runs past the audio's last sample.
        let path = Spoken.path([("HELLO", 3), ("THERE", 20), ("AGAIN", 40)], frames: 50)
        let transcript = TimedTranscript(
            Spoken.transcription(path: path, duration: 0.97), vocabulary: Spoken.vocabulary)
        let times = transcript.words.flatMap { $0.characters.flatMap { [$0.start, $0.end] } }
        #expect(times == times.sorted())
        #expect(times.allSatisfy { $0 >= 0 && $0 <= 0.97 })
        #expect(transcript.words.last?.end == 0.97)
    }

    @Test func aTokenSpelledWithASpaceNeverMakesWordsOverlap() throws {
        let vocabulary = try Vocabulary(tokens: ["<pad>", "|", "A", "B C"])
        let tokens = [CTCToken(id: 2, frames: 0..<2), CTCToken(id: 3, frames: 2..<4)]
        let transcription = CTCTranscription(
            text: "AB C", logProbs: Matrix(zeros: 4, 4), tokens: tokens, frameDuration: 0.02, duration: 0.08)
        let transcript = TimedTranscript(transcription, vocabulary: vocabulary)
        #expect(transcript.text == CTCGreedyDecoder(vocabulary: vocabulary).text(tokens))
        #expect(transcript.words.map(\.text) == ["AB", "C"])
        #expect(transcript.words[1].start >= transcript.words[0].end)
    }

    @Test(arguments: [
        (TextCase.upper, "I'M HERE I SAID IT'S I"),
        (.lower, "i'm here i said it's i"),
        (.sentence, "I'm here I said it's I"),
    ])
    func casesTextWordsAndCharacters(_ textCase: TextCase, _ expected: String) {
        let transcript = Spoken.transcript(
            [("I'M", 0), ("HERE", 8), ("I", 18), ("SAID", 22), ("IT'S", 32), ("I", 42)], frames: 46)
        let cased = transcript.cased(textCase)
        #expect(cased.text == expected)
        #expect(cased.words.map(\.text).joined(separator: " ") == cased.text)
        #expect(cased.words.map { $0.characters.map(\.text).joined() } == cased.words.map(\.text))
        #expect(cased.words.map(\.start) == transcript.words.map(\.start))
    }

    @Test func sentenceCaseCapitalisesTheFirstLetterEvenAfterAnApostrophe() {
        let transcript = Spoken.transcript([("'TWAS", 0), ("NIGHT", 12)], frames: 24)
        #expect(transcript.cased(.sentence).text == "'Twas night")
    }

    @Test func anEmptyTranscriptHasNoWords() {
        let transcript = TimedTranscript(Spoken.transcription(path: [0, 0, 4, 0]), vocabulary: Spoken.vocabulary)
        #expect(transcript.text == "")
        #expect(transcript.words.isEmpty)
        #expect(transcript.cased(.sentence).text == "")
    }
}

@Suite struct SegmenterTests {
    /// Words of "WORD" at `starts`, each 0.3 s long.
    func words(startingAt starts: [Double]) -> TimedTranscript {
        handMadeTranscript(starts.map { ("WORD", $0, $0 + 0.3) }, duration: (starts.last ?? 0) + 1)
    }

    @Test(arguments: [(0.49, 1), (0.5, 2), (0.8, 2)])
    func splitsAtAPause(_ gap: Double, _ segmentCount: Int) {
        let transcript = words(startingAt: [0, 0.3, 0.6 + gap, 0.9 + gap])
        let segments = Segmenter().segments(transcript)
        #expect(segments.count == segmentCount)
        if segmentCount == 2 {
            #expect(segments.map(\.wordRange) == [0..<2, 2..<4])
            #expect(segments[1].start == transcript.words[2].start)
            #expect(segments[0].end == transcript.words[1].end)
        }
    }

    @Test func splitsWhereTheNextWordWouldNotFitOnTwoLines() {
        // "WORD" x 8 is 39 characters: a line holds 8 words, two lines 16.
        let transcript = words(startingAt: (0..<20).map { Double($0) * 0.3 })
        let segments = Segmenter(maximumDuration: 100).segments(transcript)
        // Two cues are needed; they take the words evenly, not 16 and 4.
        #expect(segments.map(\.wordRange) == [0..<10, 10..<20])
        for segment in segments {
            #expect(SubtitleLines.wrap(segment.words.map(\.text), width: 42).allSatisfy { $0.count <= 42 })
        }
    }

    @Test func splitsAtTheMaximumDuration() {
        let transcript = words(startingAt: (0..<10).map { Double($0) * 0.3 })
        let segments = Segmenter(maximumDuration: 1.2, maximumLineLength: 1000).segments(transcript)
        #expect(segments.map(\.wordRange) == [0..<3, 3..<6, 6..<10])
        #expect(segments.allSatisfy { $0.end - $0.start <= 1.2 + 1e-9 })
    }

    /// A word is a cue of its own only where its neighbours cannot take it: greedy filling would
    /// leave "E" alone after a full cue; the cues share the words instead.
    @Test func leavesNoWordAloneThatItsNeighboursCouldTake() {
        let transcript = handMadeTranscript(
            ["AAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBB", "CCCCCCCCCCCCCCCCCCCC", "DDDDDDDDDDDDDDDDDDDD", "E"]
                .enumerated().map { ($1, Double($0) * 0.4, Double($0) * 0.4 + 0.4) }, duration: 3)
        let segments = Segmenter().segments(transcript)
        #expect(segments.map(\.wordRange.count) == [2, 3])
        #expect(segments.allSatisfy { $0.wordRange.count > 1 })
    }

    @Test func limitsWordsPerLine() {
        let transcript = words(startingAt: (0..<6).map { Double($0) * 0.3 })
        let segments = Segmenter(maximumWordsPerLine: 2).segments(transcript)
        #expect(segments.map(\.wordRange) == [0..<3, 3..<6])
        for segment in segments {
            let lines = SubtitleLines.wrap(segment.words.map(\.text), width: 42, wordsPerLine: 2)
            #expect(lines.count <= 2 && lines.allSatisfy { $0.split(separator: " ").count <= 2 })
        }
    }

    @Test func neverSplitsInsideAWordAndKeepsEveryWordOnce() {
        let long = String(repeating: "X", count: 50)
        let transcript = handMadeTranscript(
            [("A", 0, 0.1), (long, 0.1, 0.5), ("B", 0.5, 0.6), ("C", 0.6, 0.7)], duration: 1)
        let segments = Segmenter().segments(transcript)
        // The long word takes the second line of the first segment; "B" would need a third.
        #expect(segments.map(\.text) == ["A " + long, "B C"])
        #expect(segments.flatMap(\.words) == transcript.words)
        #expect(segments.map(\.id) == [0, 1])
        #expect(Segmenter(maximumLines: 1).segments(transcript).map(\.text) == ["A", long, "B C"])
        #expect(
            segments.map { $0.text.split(separator: " ").map(String.init) } == segments.map { $0.words.map(\.text) })
    }

    @Test func anEmptyTranscriptHasNoSegments() {
        #expect(Segmenter().segments(TimedTranscript(text: "", duration: 3, words: [])).isEmpty)
    }

    @Test func isDeterministic() {
        let transcript = words(startingAt: (0..<200).map { Double($0) * 0.37 + Double($0 % 7) * 0.1 })
        #expect(Segmenter().segments(transcript) == Segmenter().segments(transcript))
    }

    @Test(
        arguments: [
            (["ONE"], 42, ["ONE"]),
            (["THE", "QUICK", "BROWN", "FOX"], 42, ["THE QUICK BROWN FOX"]),
            (["THE", "QUICK", "BROWN", "FOX"], 10, ["THE QUICK", "BROWN FOX"]),
            // Greedy would give "AAAA BBBB CCCC" and "DD": the balanced wrap evens the lines.
            (["AAAA", "BBBB", "CCCC", "DD"], 14, ["AAAA BBBB", "CCCC DD"]),
            (["TOOLONGFORTHELINE", "A"], 5, ["TOOLONGFORTHELINE", "A"]),
            ([], 42, []),
        ] as [([String], Int, [String])])
    func wrapsLinesAtWordBoundaries(_ words: [String], _ width: Int, _ lines: [String]) {
        #expect(SubtitleLines.wrap(words, width: width) == lines)
    }
}

private extension Array where Element == Double {
    func isClose(to other: [Double], tolerance: Double = 1e-9) -> Bool {
        count == other.count && zip(self, other).allSatisfy { abs($0 - $1) <= tolerance }
    }
}
