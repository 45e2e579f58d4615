import Foundation

/// One input's classification as the writers see it.
///
/// - txt: the best label and its score, `yes 0.9731`.
/// - json, jsonl: `{"duration", "events": [{"end", "label", "score", "start"}], "input",
///   "labels": [{"label", "score"}] (the top k), "model", "scores": "softmax",
///   "windows": [{"end", "labels", "start"}] (when there are several)}`.
/// - tsv: `start end label score` rows: the top k over the whole input for a single clip, the
///   events for a timeline.
/// - srt, vtt: one cue per event, `label (score)`.
public struct ClassificationOutput: Sendable, Equatable {
    public let input: String
    public let model: String
    public let classification: AudioClassification

    public init(input: String, model: String, classification: AudioClassification) {
        self.input = input
        self.model = model
        self.classification = classification
    }

    public static let tsvHeader = "start\tend\tlabel\tscore\n"

    public func rendered(as format: OutputFormat) -> String {
        switch format {
        case .txt: (classification.top.first.map { "\($0.label) \(Self.score($0.score, places: 4))" } ?? "") + "\n"
        case .json: jsonRecord().serialized(pretty: true) + "\n"
        case .jsonl: jsonRecord().serialized(pretty: false) + "\n"
        case .tsv: tsv()
        case .srt: cues(separator: ",").enumerated().map { "\($0 + 1)\n\($1)" }.joined(separator: "\n")
        case .vtt: "WEBVTT\n\n" + cues(separator: ".").joined(separator: "\n")
        }
    }

    func jsonRecord() -> JSONValue {
        func labels(_ scores: [LabelScore]) -> JSONValue {
            .array(scores.map { .object(["label": .string($0.label), "score": .number(Self.score($0.score))]) })
        }
        var record: [String: JSONValue] = [
            "input": .string(input),
            "model": .string(model),
            "duration": .seconds(classification.duration),
            "scores": .string(classification.scoreFunction.rawValue),
            "labels": labels(classification.top),
            "events": .array(
                classification.events.map { event in
                    .object([
                        "label": .string(event.label), "start": .seconds(event.start), "end": .seconds(event.end),
                        "score": .number(Self.score(event.score)),
                    ])
                }),
        ]
        if classification.windows.count > 1 {
            record["windows"] = .array(
                classification.windows.map { window in
                    .object([
                        "start": .seconds(window.start), "end": .seconds(window.end),
                        "labels": labels(
                            topLabels(window.scores, labels: classification.labels, k: classification.topK)),
                    ])
                })
        }
        return .object(record)
    }

    private func tsv() -> String {
        let rows: [(start: Double, end: Double, label: String, score: Float)] =
            classification.windows.count > 1
            ? classification.events.map { ($0.start, $0.end, $0.label, $0.score) }
            : classification.top.map { (0, classification.duration, $0.label, $0.score) }
        return Self.tsvHeader
            + rows.map {
                "\(decimal(milliseconds($0.start)))\t\(decimal(milliseconds($0.end)))\t\($0.label)\t"
                    + "\(Self.score($0.score, places: 4))\n"
            }.joined()
    }

    /// Each event's `start --> end` line and text, ended by a newline; cues keep the events' order.
    private func cues(separator: Character) -> [String] {
        classification.events.map { event in
            let text = "\(event.label) (\(Self.score(event.score, places: 2)))"
            return timestamp(milliseconds(event.start), separator: separator) + " --> "
                + timestamp(milliseconds(event.end), separator: separator) + "\n"
                + (separator == "." ? escapedForWebVTT(text) : text) + "\n"
        }
    }

    /// A score as JSON spells it: Float's shortest exact form, or with `places` decimals.
    static func score(_ value: Float, places: Int? = nil) -> String {
        guard value.isFinite else { return "null" }
        guard let places else { return "\(value)" }
        return String(format: "%.\(places)f", Double(value))
    }
}
