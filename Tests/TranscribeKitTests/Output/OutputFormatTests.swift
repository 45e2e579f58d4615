import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

@Suite struct OutputFormatTests {
    /// "HI YOU" then, after a 1 s pause, "THERE": two segments.
    static let small: TranscriptOutput = {
        typealias Timing = TimedTranscript.CharacterTiming
        let words = [
            TimedTranscript.Word(characters: [
                Timing(text: "H", start: 0.10, end: 0.14, confidence: 0.9),
                Timing(text: "I", start: 0.16, end: 0.20, confidence: 0.8),
            ]),
            TimedTranscript.Word(characters: [
                Timing(text: "Y", start: 0.30, end: 0.36, confidence: 0.75),
                Timing(text: "O", start: 0.38, end: 0.44, confidence: 0.75),
                Timing(text: "U", start: 0.46, end: 0.50, confidence: 0.75),
            ]),
            TimedTranscript.Word(characters: [Timing(text: "THERE", start: 1.5, end: 1.9, confidence: 0.5)]),
        ]
        let transcript = TimedTranscript(text: "HI YOU THERE", duration: 2, words: words)
        return TranscriptOutput(input: "talk.wav", model: "wav2vec2-base-960h", transcript: transcript)
    }()

    static let silence = TranscriptOutput(
        input: "silence.wav", model: "m", transcript: TimedTranscript(text: "", duration: 1.5, words: []))

    @Test(arguments: [
        (OutputFormat.txt, "HI YOU\nTHERE\n"),
        (
            .srt,
            """
            1
            00:00:00,100 --> 00:00:00,933
            HI YOU

            2
            00:00:01,500 --> 00:00:02,000
            THERE

            """
        ),
        (
            .vtt,
            """
            WEBVTT

            00:00:00.100 --> 00:00:00.933
            HI YOU

            00:00:01.500 --> 00:00:02.000
            THERE

            """
        ),
        (
            .tsv,
            """
            start\tend\tconfidence\tword
            0.100\t0.200\t0.849\tHI
            0.300\t0.500\t0.750\tYOU
            1.500\t1.900\t0.500\tTHERE

            """
        ),
        (
            .json,
            """
            {
              "duration": 2.0,
              "input": "talk.wav",
              "model": "wav2vec2-base-960h",
              "segments": [
                {
                  "end": 0.5,
                  "id": 0,
                  "start": 0.1,
                  "text": "HI YOU"
                },
                {
                  "end": 1.9,
                  "id": 1,
                  "start": 1.5,
                  "text": "THERE"
                }
              ],
              "text": "HI YOU THERE",
              "words": [
                {
                  "confidence": 0.849,
                  "end": 0.2,
                  "start": 0.1,
                  "word": "HI"
                },
                {
                  "confidence": 0.75,
                  "end": 0.5,
                  "start": 0.3,
                  "word": "YOU"
                },
                {
                  "confidence": 0.5,
                  "end": 1.9,
                  "start": 1.5,
                  "word": "THERE"
                }
              ]
            }

            """
        ),
        (
            .jsonl,
            #"""
            {"duration":2.0,"input":"talk.wav","model":"wav2vec2-base-960h","segments":[{"end":0.5,"id":0,"start":0.1,"text":"HI YOU"},{"end":1.9,"id":1,"start":1.5,"text":"THERE"}],"text":"HI YOU THERE","words":[{"confidence":0.849,"end":0.2,"start":0.1,"word":"HI"},{"confidence":0.75,"end":0.5,"start":0.3,"word":"YOU"},{"confidence":0.5,"end":1.9,"start":1.5,"word":"THERE"}]}

            """#
        ),
    ])
    func writesASmallTranscript(_ format: OutputFormat, _ expected: String) {
        #expect(Self.small.rendered(as: format) == expected)
    }

    @Test(arguments: [
        (OutputFormat.txt, "\n"),
        (.srt, ""),
        (.vtt, "WEBVTT\n\n"),
        (.tsv, "start\tend\tconfidence\tword\n"),
        (
            .json,
            "{\n  \"duration\": 1.5,\n  \"input\": \"silence.wav\",\n  \"model\": \"m\",\n  \"segments\": [],\n  \"text\": \"\",\n  \"words\": []\n}\n"
        ),
        (.jsonl, #"{"duration":1.5,"input":"silence.wav","model":"m","segments":[],"text":"","words":[]}"# + "\n"),
    ])
    func writesNoSpeech(_ format: OutputFormat, _ expected: String) {
        #expect(Self.silence.rendered(as: format) == expected)
    }

    @Test func addsCharacterTimingsOnRequest() {
        let output = TranscriptOutput(
            input: "hi.wav", model: "m",
            transcript: TimedTranscript(text: "HI", duration: 0.5, words: [Self.small.transcript.words[0]]))
        #expect(
            output.rendered(as: .jsonl, options: OutputOptions(includeCharacters: true)) == #"""
                {"duration":0.5,"input":"hi.wav","model":"m","segments":[{"end":0.2,"id":0,"start":0.1,"text":"HI"}],"text":"HI","words":[{"characters":[{"character":"H","confidence":0.9,"end":0.14,"start":0.1},{"character":"I","confidence":0.8,"end":0.2,"start":0.16}],"confidence":0.849,"end":0.2,"start":0.1,"word":"HI"}]}

                """#)
        #expect(!output.rendered(as: .jsonl).contains("characters"))
    }

    @Test func writesAFailureRecord() throws {
        #expect(
            TranscriptOutput.failureRecord(input: "bad.wav", error: "not audio")
                == #"{"error":"not audio","input":"bad.wav"}"# + "\n")
    }

    @Test func escapesStringsSoTheyParseBack() throws {
        let name = "dir/a \"quoted\"\\name\twith\nnewline\u{1}, ü and 字.wav"
        let output = TranscriptOutput(input: name, model: "m", transcript: Self.small.transcript)
        for format in [OutputFormat.json, .jsonl] {
            let record = try #require(try parsedObject(output.rendered(as: format)))
            #expect(record["input"] as? String == name)
        }
        let failure = try #require(try parsedObject(TranscriptOutput.failureRecord(input: name, error: "x\ny")))
        #expect(failure["input"] as? String == name)
        #expect(failure["error"] as? String == "x\ny")
        #expect(TranscriptOutput.failureRecord(input: name, error: "x\ny").filter { $0 == "\n" }.count == 1)
    }

    @Test func escapesWebVTTMarkup() {
        let transcript = handMadeTranscript([("R&B", 0, 0.5), ("<3", 0.5, 1)], duration: 1)
        let output = TranscriptOutput(input: "a", model: "m", transcript: transcript)
        #expect(output.rendered(as: .vtt) == "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nR&amp;B &lt;3\n")
    }

    @Test func wrapsLongCuesOntoTwoEvenLines() {
        let words = "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG AND RUNS AWAY".split(separator: " ")
        let transcript = handMadeTranscript(
            words.enumerated().map { (String($1), Double($0) * 0.3, Double($0) * 0.3 + 0.3) }, duration: 4)
        let output = TranscriptOutput(input: "a", model: "m", transcript: transcript)
        #expect(
            output.rendered(as: .srt) == """
                1
                00:00:00,000 --> 00:00:03,600
                THE QUICK BROWN FOX JUMPS OVER
                THE LAZY DOG AND RUNS AWAY

                """)
    }

    @Test(arguments: [
        (0, "00:00:00,000"),
        (999, "00:00:00,999"),
        (61_001, "00:01:01,001"),
        (3_599_999, "00:59:59,999"),
        (3_600_000, "01:00:00,000"),
        (7_325_042, "02:02:05,042"),
        (360_000_000, "100:00:00,000"),
        (-5, "00:00:00,000"),
    ])
    func formatsTimestamps(_ milliseconds: Int, _ expected: String) {
        #expect(timestamp(milliseconds, separator: ",") == expected)
        #expect(timestamp(milliseconds, separator: ".") == expected.replacingOccurrences(of: ",", with: "."))
    }

    // MARK: Two hours of speech

    /// About two hours of words of 1 to 9 letters at frame-aligned times, with gaps from none to 2 s.
    static let long: TranscriptOutput = {
        var random = SplitMix(seed: 42)
        var frame = 10
        var words: [(String, Double, Double)] = []
        let gaps = [0, 1, 2, 4, 0, 1, 30, 0, 3, 100]  // frames
        while frame < 360_000 - 500 {
            let letters = 1 + random.next(9)
            let text = String((0..<letters).map { _ in Character(UnicodeScalar(65 + UInt8(random.next(26)))) })
            let frames = letters * (2 + random.next(4))
            words.append((text, Double(frame) * 0.02, Double(frame + frames) * 0.02))
            frame += frames + gaps[random.next(gaps.count)]
        }
        return TranscriptOutput(input: "long.wav", model: "m", transcript: handMadeTranscript(words, duration: 7200))
    }()

    @Test(arguments: [OutputFormat.srt, .vtt])
    func subtitlesOfTwoHoursAreWellFormed(_ format: OutputFormat) throws {
        let output = Self.long
        let cues = try #require(parseCues(output.rendered(as: format), format: format))
        #expect(cues.count == output.segments.count)
        #expect(cues.count > 1000)
        if format == .srt { #expect(cues.map(\.number) == Array(1...cues.count)) }
        for (cue, next) in zip(cues, cues.dropFirst()) { #expect(cue.end <= next.start) }
        #expect(cues.allSatisfy { $0.start <= $0.end && $0.end <= 7_200_000 })
        #expect(cues.allSatisfy { (1...2).contains($0.lines.count) && $0.lines.allSatisfy { $0.count <= 42 } })
        #expect(cues.allSatisfy { $0.end - $0.start <= 6000 })
        #expect(cues.map { $0.lines.joined(separator: " ") }.joined(separator: " ") == output.transcript.text)
        #expect(try #require(cues.last).start >= 7_000_000)
    }

    @Test func jsonOfTwoHoursParsesWithEveryKey() throws {
        let output = Self.long
        let record = try #require(try parsedObject(output.rendered(as: .json)))
        #expect(Set(record.keys) == ["input", "model", "duration", "text", "words", "segments"])
        let words = try #require(record["words"] as? [[String: Any]])
        let segments = try #require(record["segments"] as? [[String: Any]])
        #expect(words.count == output.transcript.words.count)
        #expect(segments.count == output.segments.count)
        #expect(words.allSatisfy { Set($0.keys) == ["word", "start", "end", "confidence"] })
        #expect(segments.allSatisfy { Set($0.keys) == ["id", "start", "end", "text"] })
        let starts = words.compactMap { ($0["start"] as? NSNumber)?.doubleValue }
        #expect(starts.count == words.count && starts == starts.sorted())
        #expect(segments.compactMap { $0["id"] as? Int } == Array(0..<segments.count))
        #expect(record["text"] as? String == output.transcript.text)
    }

    @Test func jsonlOfTwoHoursIsOneLine() throws {
        let line = Self.long.rendered(as: .jsonl, options: OutputOptions(includeCharacters: true))
        #expect(line.last == "\n")
        #expect(line.filter { $0 == "\n" }.count == 1)
        let record = try #require(try parsedObject(line))
        let words = try #require(record["words"] as? [[String: Any]])
        #expect(words.allSatisfy { ($0["characters"] as? [Any])?.isEmpty == false })
    }

    @Test func tsvOfTwoHoursHasARowPerWord() {
        let words = Self.long.transcript.words
        let rows = Self.long.rendered(as: .tsv).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(rows.count == words.count + 2)  // the header, and nothing after the last newline
        #expect(rows.first == "start\tend\tconfidence\tword" && rows.last == "")
        let fields = rows.dropFirst().dropLast().map { $0.split(separator: "\t") }
        #expect(fields.allSatisfy { $0.count == 4 })
        #expect(fields.map { String($0[3]) } == words.map(\.text))
        let starts = fields.compactMap { Double($0[0]) }
        #expect(starts.count == words.count && starts == starts.sorted())
    }
}

/// One subtitle cue read back: its number (SRT), times in milliseconds and text lines.
private struct Cue {
    var number: Int?
    var start: Int
    var end: Int
    var lines: [String]
}

/// The cues of an SRT or WebVTT document, or nil where one is malformed.
private func parseCues(_ document: String, format: OutputFormat) -> [Cue]? {
    var body = document
    if format == .vtt {
        guard body.hasPrefix("WEBVTT\n\n") else { return nil }
        body.removeFirst("WEBVTT\n\n".count)
    }
    guard body.hasSuffix("\n") else { return nil }
    let separator: Character = format == .srt ? "," : "."
    var cues: [Cue] = []
    for block in body.dropLast().components(separatedBy: "\n\n") {
        var lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var number: Int?
        if format == .srt {
            guard let parsed = Int(lines.removeFirst()) else { return nil }
            number = parsed
        }
        guard !lines.isEmpty else { return nil }
        let times = lines.removeFirst().components(separatedBy: " --> ")
        guard times.count == 2, let start = parseTimestamp(times[0], separator: separator),
            let end = parseTimestamp(times[1], separator: separator), !lines.isEmpty,
            lines.allSatisfy({ !$0.isEmpty })
        else { return nil }
        cues.append(Cue(number: number, start: start, end: end, lines: lines))
    }
    return cues
}

/// `HH:MM:SS,mmm` in milliseconds: two or more hour digits, minutes and seconds below 60.
private func parseTimestamp(_ text: String, separator: Character) -> Int? {
    let parts = text.split(separator: separator)
    guard parts.count == 2, parts[1].count == 3, let milliseconds = Int(parts[1]) else { return nil }
    let clock = parts[0].split(separator: ":")
    guard clock.count == 3, clock[0].count >= 2, clock[1].count == 2, clock[2].count == 2,
        let hours = Int(clock[0]), let minutes = Int(clock[1]), let seconds = Int(clock[2]),
        hours >= 0, (0..<60).contains(minutes), (0..<60).contains(seconds)
    else { return nil }
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + milliseconds
}

private func parsedObject(_ text: String) throws -> [String: Any]? {
    try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
}

/// A small deterministic generator, so the long transcript is the same on every run.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    /// A number in `0..<bound`.
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
