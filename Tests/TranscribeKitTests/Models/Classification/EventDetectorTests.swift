import Testing

@testable import TranscribeKit

/// How a timeline of windows becomes events, on timelines written out by hand.
@Suite struct EventDetectorTests {
    static let labels = ["yes", "no", "_silence_"]

    /// 1 s windows every 0.5 s; `scores[i]` is window i's score for "yes", "no" taking the rest.
    static func timeline(_ yes: [Float]) -> [ClassifiedWindow] {
        yes.enumerated().map { index, score in
            ClassifiedWindow(start: Double(index) * 0.5, end: Double(index) * 0.5 + 1, scores: [score, 1 - score, 0])
        }
    }

    static func detector(labels: [Int] = [0], threshold: Float = 0.5, gap: Double = 0) -> EventDetector {
        EventDetector(labels: Self.labels, eventLabels: labels, threshold: threshold, minimumGap: gap)
    }

    /// A run of windows at or above the threshold is one event, placed by its windows' centres,
    /// half a hop to each side; its score is the run's highest.
    @Test func aRunIsOneEventAroundItsCentres() {
        let events = Self.detector().events(Self.timeline([0.1, 0.5, 0.9, 0.7, 0.2, 0.1]))
        // Windows 1-3 (0.5-1.5, 1.0-2.0, 1.5-2.5): centres 1.0 ... 2.0, so 0.75 ... 2.25.
        #expect(events == [AudioEvent(label: "yes", start: 0.75, end: 2.25, score: 0.9)])
    }

    /// The first and last windows bound an event: it never reaches outside the audio.
    @Test func eventsStayWithinTheirWindows() {
        let events = Self.detector().events(Self.timeline([0.8, 0.1, 0.1, 0.9]))
        #expect(events.map(\.start) == [0, 1.5 + 0.25])
        #expect(events.map(\.end) == [0.75, 2.5])
    }

    /// Runs of one label no more than the minimum gap apart merge; other labels stay apart.
    @Test func closeEventsMerge() {
        let timeline = Self.timeline([0.9, 0.2, 0.9, 0.2, 0.2, 0.2, 0.9])
        #expect(Self.detector(gap: 0).events(timeline).count == 3)
        let merged = Self.detector(gap: 0.5).events(timeline)
        #expect(merged.map(\.start) == [0, 3.25])
        #expect(merged.map(\.end) == [1.75, 4])
        // "no" is present where "yes" is not: its events interleave, sorted by start.
        let both = Self.detector(labels: [0, 1]).events(timeline)
        #expect(both.map(\.label) == ["yes", "no", "yes", "no", "yes"])
    }

    /// The input was one window: an event is all of it.
    @Test func aSingleWindowIsTheWholeInput() {
        let window = ClassifiedWindow(start: 0, end: 0.7, scores: [0.6, 0.4, 0])
        #expect(Self.detector().events([window]) == [AudioEvent(label: "yes", start: 0, end: 0.7, score: 0.6)])
        #expect(Self.detector(threshold: 0.61).events([window]).isEmpty)
    }

    /// The last window ends at the input's end, closer than a hop to the one before: each window
    /// stands for the stretch halfway to its neighbours' centres.
    @Test func anOffGridLastWindowIsPlacedByItsNeighbour() {
        // AST's defaults on 12 s: [0, 10.255] and [1.745, 12], centres 5.1275 and 6.8725.
        let windows = [
            ClassifiedWindow(start: 0, end: 10.255, scores: [0.9, 0, 0]),
            ClassifiedWindow(start: 1.745, end: 12, scores: [0.1, 0.9, 0]),
        ]
        let events = Self.detector(labels: [0, 1]).events(windows)
        #expect(events.map(\.label) == ["yes", "no"])
        #expect(events.map(\.start) == [0, 6])
        #expect(events.map(\.end) == [6, 12])
    }

    /// Labels with commas in them (AudioSet's) are named whole; others may be listed with commas.
    @Test func labelsAreNamedWholeOrListed() throws {
        let labels = ClassLabels(names: ["Male speech, man speaking", "Dog", "Bark"])
        #expect(
            try labels.resolve(["Male speech, man speaking", "Dog,Bark", "Dog"]) == [
                "Male speech, man speaking", "Dog", "Bark",
            ])
        #expect(throws: ClassificationOptionError.unknownLabel("dog barking", suggestions: ["Dog", "Bark"])) {
            try labels.resolve(["dog barking"])
        }
    }

    /// Keyword spotters' background labels are not events unless asked for.
    @Test func backgroundLabelsAreSpeechCommands() {
        #expect(ClassLabels(names: Self.labels + ["_unknown_", "go"]).backgroundLabels == ["_silence_", "_unknown_"])
    }
}
