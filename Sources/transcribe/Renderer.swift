import Foundation
import TranscribeKit

/// Turns one input's transcription into the text of its output file and of its record on stdout.
struct Renderer: Sendable {
    /// What stdout holds around the records: a JSON array for several json documents, one header
    /// for several tsv tables, nothing otherwise.
    struct Framing: Sendable {
        var prefix = ""
        var separator = ""
        var suffix = ""
        /// Printed instead when no record was.
        var empty = ""
    }

    let format: OutputFormat
    let modelName: String
    let textCase: TextCase?
    let options: OutputOptions
    /// Several inputs share stdout, so each record says which input it is.
    let labelled: Bool
    /// The tsv header row: a transcript's words, or a classifier's labels.
    let tsvHeader: String

    init(
        format: OutputFormat, model: any SpeechRecognizer, textCase: TextCase?, options: OutputOptions, labelled: Bool
    ) {
        self.format = format
        self.modelName = URL(fileURLWithPath: model.directory.path).standardizedFileURL.lastPathComponent
        self.textCase = textCase
        self.options = options
        self.labelled = labelled
        self.tsvHeader =
            model.family == .audioClassification ? ClassificationOutput.tsvHeader : TranscriptOutput.tsvHeader
    }

    var stdoutFraming: Framing {
        switch format {
        case .json where labelled: Framing(prefix: "[\n", separator: ",\n", suffix: "\n]\n", empty: "[]\n")
        case .tsv where labelled: Framing(prefix: "input\t" + tsvHeader, empty: "input\t" + tsvHeader)
        default: Framing()
        }
    }

    func output(_ input: Input, _ recognition: Recognition) -> TranscriptOutput {
        var timed = recognition.transcript
        if let textCase { timed = timed.cased(textCase) }
        return recognition.output(
            input: input.jsonName, model: modelName, transcript: timed, segmenter: options.segmenter)
    }

    /// The content of the input's output file.
    func document(_ input: Input, _ recognition: Recognition) -> String {
        if let classification = recognition.classification {
            return ClassificationOutput(input: input.jsonName, model: modelName, classification: classification)
                .rendered(as: format)
        }
        return output(input, recognition).rendered(as: format, options: options)
    }

    /// The input's record on stdout.
    func stdoutRecord(_ input: Input, _ recognition: Recognition) -> String {
        let document = document(input, recognition)
        guard labelled else { return document }
        switch format {
        case .txt where recognition.classification == nil:
            // One line per input: its segments' lines joined.
            let output = output(input, recognition)
            return "\(input.name)\t" + output.lines.joined(separator: output.wordSeparator) + "\n"
        case .txt:
            return "\(input.name)\t\(document)"
        case .json:
            return document.hasSuffix("\n") ? String(document.dropLast()) : document
        case .tsv:
            return labelledRows(document, of: input)
        case .jsonl, .srt, .vtt:
            return document
        }
    }

    /// The beginning of the input's stdout record that is decided, given the words decided so
    /// far (`RecognitionUpdates.decided`): the final `stdoutRecord` starts with it, and so does
    /// the next one. Empty for what is written whole (json, per-input jsonl, classifications).
    func decidedRecord(_ input: Input, _ partial: Recognition) -> String {
        guard partial.classification == nil else { return "" }
        let output = output(input, partial.decidedSegments(options.segmenter))
        let part = output.decidedPart(as: format, options: options)
        guard labelled else { return part }
        switch format {
        case .txt:
            let lines = output.lines
            return lines.isEmpty ? "" : "\(input.name)\t" + lines.joined(separator: output.wordSeparator)
        case .tsv:
            return labelledRows(part, of: input)
        case .json, .jsonl, .srt, .vtt:
            return part
        }
    }

    /// A tsv table's rows, each after the input's name; the header left out.
    private func labelledRows(_ table: String, of input: Input) -> String {
        table.dropFirst(tsvHeader.count).split(separator: "\n").map { "\(input.name)\t\($0)\n" }.joined()
    }

    /// What stdout gets for an input that failed: a jsonl record with its error; nothing otherwise.
    func failureRecord(_ input: Input, _ reason: String) -> String? {
        format == .jsonl ? TranscriptOutput.failureRecord(input: input.jsonName, error: reason) : nil
    }
}
