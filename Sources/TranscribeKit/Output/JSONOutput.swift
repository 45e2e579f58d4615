extension TranscriptOutput {
    /// The json and jsonl record:
    /// `{"duration", "input", "model", "segments": [{"end", "id", "start", "text"}], "text",
    /// ("speech": [{"end", "start"}], "speech_duration" with --vad)
    /// "words": [{"confidence", "end", "start", "word"} (+ "characters": [{"character",
    /// "confidence", "end", "start"}])]}`. Times are seconds rounded to the millisecond,
    /// confidences in [0, 1] rounded to three decimals; segment ids count from 0.
    func jsonRecord(_ options: OutputOptions) -> JSONValue {
        let words = transcript.words.map { wordRecord($0, options) }
        var record: [String: JSONValue] = [
            "input": .string(input),
            "model": .string(model),
            "duration": .seconds(transcript.duration),
            "text": .string(transcript.text),
            "words": .array(words),
        ]
        if let speech {
            // The regions the detector found, in the input's seconds, and how much they hold.
            let rate = Double(speech.sampleRate)
            record["speech"] = .array(
                speech.regions.map { region in
                    .object([
                        "start": .seconds(Double(region.start) / rate), "end": .seconds(Double(region.end) / rate),
                    ])
                })
            record["speech_duration"] = .seconds(speech.speechSeconds)
        }
        if let whisper {
            record["language"] = .string(whisper.language)
            record["language_probability"] = .confidence(whisper.languageProbability)
            // Numbered from 1, as faster-whisper numbers them.
            record["segments"] = .array(whisper.segments.enumerated().map { JSONValue.whisperSegment($1, id: $0 + 1) })
        } else {
            record["segments"] = .array(segments.map { .object(segmentFields($0)) })
        }
        return .object(record)
    }

    /// The jsonl lines of `--segments`, one per segment, each with its input:
    /// `{"end", "id", "input", "start", "text", "words"}`; Whisper's own segments with the fields
    /// of json's `segments` (`seek`, `tokens`, `avg_logprob`, ...), and with `language`.
    func segmentRecords(_ options: OutputOptions) -> [String] {
        var records: [JSONValue] = []
        if let whisper {
            records = whisper.segments.enumerated().map { index, segment in
                var fields = JSONValue.whisperSegmentFields(segment, id: index + 1)
                fields["language"] = .string(whisper.language)
                fields["input"] = .string(input)
                return .object(fields)
            }
        } else {
            records = segments.map { segment in
                var fields = segmentFields(segment)
                fields["input"] = .string(input)
                fields["words"] = .array(segment.words.map { wordRecord($0, options) })
                return .object(fields)
            }
        }
        return records.map { $0.serialized(pretty: false) + "\n" }
    }

    /// A segment of a model without segments of its own: id (from 0), start, end, text.
    private func segmentFields(_ segment: TranscriptSegment) -> [String: JSONValue] {
        [
            "id": .number(String(segment.id)),
            "start": .seconds(segment.start),
            "end": .seconds(segment.end),
            "text": .string(segment.text),
        ]
    }

    /// A word: word, start, end, confidence, and its characters with `includeCharacters`.
    private func wordRecord(_ word: TimedTranscript.Word, _ options: OutputOptions) -> JSONValue {
        var fields: [String: JSONValue] = [
            "word": .string(word.text),
            "start": .seconds(word.start),
            "end": .seconds(word.end),
            "confidence": .confidence(word.confidence),
        ]
        if options.includeCharacters {
            fields["characters"] = .array(
                word.characters.map { character in
                    .object([
                        "character": .string(character.text),
                        "start": .seconds(character.start),
                        "end": .seconds(character.end),
                        "confidence": .confidence(character.confidence),
                    ])
                })
        }
        return .object(fields)
    }
}

/// Just enough JSON to write records byte for byte the same on every run: object keys come out
/// sorted (by Unicode scalars, as Python's `sort_keys`), numbers exactly as formatted here.
indirect enum JSONValue: Equatable {
    case string(String)
    /// A number already spelled as JSON, e.g. `1.230`.
    case number(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A Whisper segment with the fields faster-whisper's `Segment` has.
    static func whisperSegment(_ segment: WhisperSegment, id: Int) -> JSONValue {
        .object(whisperSegmentFields(segment, id: id))
    }

    static func whisperSegmentFields(_ segment: WhisperSegment, id: Int) -> [String: JSONValue] {
        [
            "id": .number(String(id)),
            "seek": .number(String(segment.seek)),
            "start": .seconds(segment.start),
            "end": .seconds(segment.end),
            "text": .string(segment.text),
            "tokens": .array(segment.tokens.map { .number(String($0)) }),
            "temperature": .number(String(segment.temperature)),
            "avg_logprob": .real(segment.averageLogProb),
            "compression_ratio": .real(segment.compressionRatio),
            "no_speech_prob": .real(segment.noSpeechProb),
            "words": .array(
                segment.words.map { word in
                    .object([
                        "word": .string(word.text),
                        "start": .seconds(word.start),
                        "end": .seconds(word.end),
                        "probability": .confidence(word.probability),
                    ])
                }),
        ]
    }

    /// A real number to six decimals, trailing zeros dropped: `-0.312345`, `1.5`.
    static func real(_ value: Double) -> JSONValue {
        guard value.isFinite else { return .number("null") }
        var text = String(format: "%.6f", value)
        while text.hasSuffix("0") && !text.hasSuffix(".0") { text.removeLast() }
        return .number(text == "-0.0" ? "0.0" : text)
    }

    /// Seconds to the millisecond: `1.25`, `2.0`.
    static func seconds(_ value: Double) -> JSONValue { .number(shortDecimal(milliseconds(value))) }
    /// A value in [0, 1] to three decimals: `0.849`, `1.0`.
    static func confidence(_ value: Double) -> JSONValue { .number(shortDecimal(thousandths(value))) }

    /// Thousandths as a decimal without trailing zeros, but with one digit after the point, so
    /// every reader sees a float: 1250 -> `1.25`, 2000 -> `2.0`.
    private static func shortDecimal(_ thousandths: Int) -> String {
        var text = decimal(thousandths)
        while text.hasSuffix("0") && !text.hasSuffix(".0") { text.removeLast() }
        return text
    }

    /// On one line with no spaces, or indented by two spaces per level as Python's
    /// `json.dumps(indent=2, sort_keys=True)` writes it. No trailing newline.
    func serialized(pretty: Bool) -> String {
        var text = ""
        write(into: &text, pretty: pretty, depth: 0)
        return text
    }

    private func write(into text: inout String, pretty: Bool, depth: Int) {
        switch self {
        case .string(let string):
            writeString(string, into: &text)
        case .number(let number):
            text += number
        case .array(let elements):
            writeContainer("[", "]", elements.count, into: &text, pretty: pretty, depth: depth) { index, text in
                elements[index].write(into: &text, pretty: pretty, depth: depth + 1)
            }
        case .object(let fields):
            let keys = fields.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            writeContainer("{", "}", keys.count, into: &text, pretty: pretty, depth: depth) { index, text in
                writeString(keys[index], into: &text)
                text += pretty ? ": " : ":"
                fields[keys[index]]?.write(into: &text, pretty: pretty, depth: depth + 1)
            }
        }
    }

    private func writeContainer(
        _ open: String, _ close: String, _ count: Int, into text: inout String, pretty: Bool, depth: Int,
        element: (Int, inout String) -> Void
    ) {
        text += open
        guard count > 0 else {
            text += close
            return
        }
        let indent = pretty ? "\n" + String(repeating: "  ", count: depth + 1) : ""
        for index in 0..<count {
            text += (index == 0 ? "" : ",") + indent
            element(index, &text)
        }
        text += (pretty ? "\n" + String(repeating: "  ", count: depth) : "") + close
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    private func writeString(_ string: String, into text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
