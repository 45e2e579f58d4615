import Foundation

/// How a classifier is run over an input and how its timeline becomes events.
public struct ClassificationOptions: Sendable, Equatable {
    /// How logits become scores; nil for the model's default (`ClassLabels.defaultScores`).
    public var scores: ScoreFunction?
    /// Labels listed per clip and per window.
    public var topK = 5
    /// Seconds of audio classified at once, and between window starts; nil for the model's
    /// input length and half of the window.
    public var windowSeconds: Double?
    public var hopSeconds: Double?
    /// Labels that become events; nil for every label but the background ones (`_silence_`,
    /// `_unknown_`).
    public var eventLabels: [String]?
    /// The score a window needs for its label to count as present.
    public var eventThreshold: Float = 0.5
    /// Events of one label this close (seconds) or closer merge into one; nil for the model's
    /// default: half a second for keyword spotters, none for sound taggers.
    public var eventMinimumGap: Double?

    public init() {}
}

/// One window of the timeline: where it is and the score of every label.
public struct ClassifiedWindow: Sendable, Equatable {
    public let start: Double
    public let end: Double
    /// One per label, in the model's label order.
    public let scores: [Float]
}

/// A stretch of the input where a label was present: a keyword said, a sound heard.
public struct AudioEvent: Sendable, Equatable {
    public let label: String
    public let start: Double
    public let end: Double
    /// The highest score among its windows.
    public let score: Float
}

/// What a classifier made of one input: the scores of the whole input, the timeline of windows,
/// and the events found along it.
public struct AudioClassification: Sendable, Equatable {
    public let labels: [String]
    public let scoreFunction: ScoreFunction
    public let topK: Int
    /// Seconds of audio.
    public let duration: Double
    /// In input order; one window for an input no longer than the model's.
    public let windows: [ClassifiedWindow]
    public let events: [AudioEvent]

    /// The scores of the whole input: its one window's, or the mean over the windows.
    public var scores: [Float] {
        guard windows.count > 1 else { return windows.first?.scores ?? [] }
        var mean = [Double](repeating: 0, count: labels.count)
        for window in windows {
            for (index, score) in window.scores.enumerated() { mean[index] += Double(score) }
        }
        return mean.map { Float($0 / Double(windows.count)) }
    }

    /// The `topK` best labels of the whole input.
    public var top: [LabelScore] { topLabels(scores, labels: labels, k: topK) }
}

/// Cuts a timeline into events: for each event label, every run of consecutive windows whose
/// score for it is at or above the threshold is one event. Windows overlap, so a run is placed
/// by its windows' centres, halfway to the next window's on each side: a sound shorter than a
/// window is found within about a hop of where it is. Events of a label no more
/// than the minimum gap apart merge.
struct EventDetector: Sendable {
    let labels: [String]
    /// Indices into `labels`.
    let eventLabels: [Int]
    let threshold: Float
    let minimumGap: Double

    func events(_ windows: [ClassifiedWindow]) -> [AudioEvent] {
        var events: [AudioEvent] = []
        for label in eventLabels {
            var found: [AudioEvent] = []
            var index = 0
            while index < windows.count {
                guard windows[index].scores[label] >= threshold else {
                    index += 1
                    continue
                }
                let first = index
                var score = windows[index].scores[label]
                while index + 1 < windows.count && windows[index + 1].scores[label] >= threshold {
                    index += 1
                    score = max(score, windows[index].scores[label])
                }
                let event = place(first..<(index + 1), of: windows, label: labels[label], score: score)
                if let last = found.last, event.start - last.end <= minimumGap {
                    found[found.count - 1] = AudioEvent(
                        label: last.label, start: last.start, end: max(last.end, event.end),
                        score: max(last.score, event.score))
                } else {
                    found.append(event)
                }
                index += 1
            }
            events += found
        }
        return events.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
    }

    /// The event of the run of windows `run`. Each window stands for the stretch between the
    /// midpoints to its neighbours' centres (half a hop each side on the regular grid; less
    /// towards a last window that ends at the input's end), the first from the input's start and
    /// the last to its end: a single window is the whole input.
    private func place(_ run: Range<Int>, of windows: [ClassifiedWindow], label: String, score: Float) -> AudioEvent {
        func centre(_ index: Int) -> Double { (windows[index].start + windows[index].end) / 2 }
        let (first, last) = (run.lowerBound, run.upperBound - 1)
        let start = first == 0 ? windows[0].start : (centre(first - 1) + centre(first)) / 2
        let end = last == windows.count - 1 ? windows[last].end : (centre(last) + centre(last + 1)) / 2
        return AudioEvent(label: label, start: start, end: end, score: score)
    }
}
