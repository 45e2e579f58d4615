import Foundation

/// What a classifier's config.json says about its outputs: the label of each logit (`id2label`)
/// and how the logits become scores (`problem_type`), as transformers'
/// `AudioClassificationPipeline` reads them.
public struct ClassLabels: Sendable, Equatable {
    public enum ProblemType: String, Sendable {
        case singleLabel = "single_label_classification"
        case multiLabel = "multi_label_classification"
        case regression
    }

    /// Logit `i` is the score of `names[i]`.
    public let names: [String]
    public let problemType: ProblemType?

    public init(names: [String], problemType: ProblemType? = nil) {
        self.names = names
        self.problemType = problemType
    }

    private struct Raw: Decodable {
        var id2label: [String: String]?
        var num_labels: Int?
        var problem_type: String?
    }

    /// Reads `id2label` and `problem_type` from config.json; an error names the field.
    init(json: Data, path: String) throws {
        let raw = try decodeJSON(Raw.self, from: json, path: path)
        guard let id2label = raw.id2label, !id2label.isEmpty else {
            throw ModelError.invalidConfig(
                path: path, field: "id2label", reason: "a classifier needs its labels, one per output")
        }
        var names = [String?](repeating: nil, count: id2label.count)
        for (key, name) in id2label {
            guard let id = Int(key), names.indices.contains(id), names[id] == nil else {
                throw ModelError.invalidConfig(
                    path: path, field: "id2label",
                    reason: "ids must be 0 to \(id2label.count - 1), each once; found \"\(key)\"")
            }
            names[id] = name
        }
        if let count = raw.num_labels, count != names.count {
            throw ModelError.invalidConfig(
                path: path, field: "num_labels", reason: "\(count) differs from the \(names.count) labels of id2label")
        }
        var problemType: ProblemType?
        if let name = raw.problem_type {
            guard let value = ProblemType(rawValue: name) else {
                throw ModelError.unsupportedConfig(
                    path: path, field: "problem_type",
                    reason:
                        "\"\(name)\"; expected single_label_classification, multi_label_classification or regression")
            }
            problemType = value
        }
        self.init(names: names.map { $0! }, problemType: problemType)
    }

    /// The pipeline's default: sigmoid for multi-label models, the logits themselves for
    /// regression, softmax otherwise.
    public var defaultScores: ScoreFunction {
        switch problemType {
        case .multiLabel: .sigmoid
        case .regression: .none
        case .singleLabel, nil: .softmax
        }
    }

    /// The labels `specs` name, each once, in order: a spec is a label, or labels separated by
    /// commas (AudioSet's own labels hold commas: "Male speech, man speaking").
    public func resolve(_ specs: [String]) throws -> [String] {
        var resolved: [String] = []
        for spec in specs {
            let parts =
                names.contains(spec)
                ? [spec]
                : spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for label in parts where !resolved.contains(label) {
                guard names.contains(label) else {
                    let lowered = label.lowercased()
                    let close = names.filter { $0.lowercased().contains(lowered) || lowered.contains($0.lowercased()) }
                    throw ClassificationOptionError.unknownLabel(label, suggestions: Array(close.prefix(5)))
                }
                resolved.append(label)
            }
        }
        return resolved
    }

    /// Labels that mean "no keyword" in keyword-spotting label sets: Speech Commands'
    /// `_silence_` and `_unknown_`, and `_background_noise_`.
    public var backgroundLabels: Set<String> {
        Set(names.filter { $0.hasPrefix("_") && $0.hasSuffix("_") })
    }
}

/// How logits become scores: `function_to_apply` of transformers' audio-classification pipeline.
public enum ScoreFunction: String, Sendable, CaseIterable {
    /// Probabilities over the labels, summing to 1: one label is true.
    case softmax
    /// A probability per label on its own: any number of labels may be true.
    case sigmoid
    /// The raw logits.
    case none

    /// The scores of `logits`, computed in double precision and rounded once.
    public func apply(_ logits: [Float]) -> [Float] {
        switch self {
        case .softmax:
            let top = Double(logits.max() ?? 0)
            let exponentials = logits.map { exp(Double($0) - top) }
            let sum = exponentials.reduce(0, +)
            return exponentials.map { Float($0 / sum) }
        case .sigmoid:
            return logits.map { Float(1 / (1 + exp(-Double($0)))) }
        case .none:
            return logits
        }
    }
}

/// One label and its score.
public struct LabelScore: Sendable, Equatable {
    public let label: String
    public let score: Float

    public init(label: String, score: Float) {
        self.label = label
        self.score = score
    }
}

/// The `k` highest `scores` with their labels, highest first; a tie keeps the lower index first.
public func topLabels(_ scores: [Float], labels: [String], k: Int) -> [LabelScore] {
    scores.indices
        .sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        .prefix(max(0, k))
        .map { LabelScore(label: labels[$0], score: scores[$0]) }
}
