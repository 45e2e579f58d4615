import Foundation

/// How speech probabilities become regions: faster-whisper's `VadOptions`, with its defaults.
public struct SpeechRegionOptions: Sendable, Equatable {
    /// A chunk at or above this probability is speech.
    public var threshold = 0.5
    /// A chunk below this ends speech; nil: `max(threshold - 0.15, 0.01)`.
    public var negativeThreshold: Double?
    /// Regions this short or shorter are dropped.
    public var minimumSpeechMilliseconds = 0
    /// Regions longer than this are split at their last silence of at least 98 ms, else cut.
    public var maximumSpeechSeconds = Double.infinity
    /// Silence shorter than this does not end a region.
    public var minimumSilenceMilliseconds = 2000
    /// Each region is widened by this much on both sides (by half the gap where two regions are
    /// closer than twice this).
    public var speechPadMilliseconds = 400

    public init() {}

    /// What faster-whisper's batched pipeline uses: regions of at most `chunkSeconds`, cut at
    /// silences of 160 ms.
    public static func batched(chunkSeconds: Double = 30) -> SpeechRegionOptions {
        var options = SpeechRegionOptions()
        options.maximumSpeechSeconds = chunkSeconds
        options.minimumSilenceMilliseconds = 160
        return options
    }
}

/// A stretch of the input the detector heard speech in: samples `start..<end` at 16 kHz.
public struct SpeechRegion: Sendable, Equatable {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    public var count: Int { end - start }
}

/// Speech regions from chunk probabilities, exactly as faster-whisper's `get_speech_timestamps`
/// computes them, but online: probabilities go in as they are computed, and each region comes
/// out as soon as nothing later can change it (its padding depends on the next region's start).
public struct SpeechRegionTracker: Sendable {
    let options: SpeechRegionOptions
    let chunk: Int
    /// Compared in Float, as NumPy compares the reference's float32 probabilities with them.
    private let threshold: Float
    private let negativeThreshold: Float
    private let minimumSpeech: Double
    private let maximumSpeech: Double
    private let minimumSilence: Double
    private let minimumSilenceAtMaximumSpeech: Double
    private let pad: Double

    /// Chunks seen.
    private var index = 0
    private var triggered = false
    /// The start of the region being heard (faster-whisper's `current_speech`), if any.
    private var currentStart: Int?
    // As in the reference, 0 means "not set" for these three.
    private var temporaryEnd = 0
    private var previousEnd = 0
    private var nextStart = 0
    /// The last region found, not yet padded: its end waits for the next region's start.
    private var pending: SpeechRegion?
    private var isFirst = true

    public init(options: SpeechRegionOptions, sampleRate: Int = 16000, chunkSamples: Int = 512) {
        self.options = options
        chunk = chunkSamples
        let rate = Double(sampleRate)
        threshold = Float(options.threshold)
        negativeThreshold = Float(options.negativeThreshold ?? max(options.threshold - 0.15, 0.01))
        minimumSpeech = rate * Double(options.minimumSpeechMilliseconds) / 1000
        pad = rate * Double(options.speechPadMilliseconds) / 1000
        maximumSpeech = rate * options.maximumSpeechSeconds - Double(chunkSamples) - 2 * pad
        minimumSilence = rate * Double(options.minimumSilenceMilliseconds) / 1000
        minimumSilenceAtMaximumSpeech = rate * 98 / 1000
    }

    /// Takes the next chunk's probability; returns the regions it made final.
    public mutating func append(_ probability: Float) -> [SpeechRegion] {
        let p = probability
        let position = chunk * index
        index += 1
        var found: [SpeechRegion] = []
        if p >= threshold && temporaryEnd != 0 {
            temporaryEnd = 0
            if nextStart < previousEnd { nextStart = position }
        }
        if p >= threshold && !triggered {
            triggered = true
            currentStart = position
            return []
        }
        if triggered, let start = currentStart, Double(position - start) > maximumSpeech {
            if previousEnd != 0 {
                found += raw(SpeechRegion(start: start, end: previousEnd))
                currentStart = nil
                // Silence was reached (below the negative threshold) and speech has not resumed.
                if nextStart < previousEnd {
                    triggered = false
                } else {
                    currentStart = nextStart
                }
                (previousEnd, nextStart, temporaryEnd) = (0, 0, 0)
            } else {
                found += raw(SpeechRegion(start: start, end: position))
                currentStart = nil
                (previousEnd, nextStart, temporaryEnd) = (0, 0, 0)
                triggered = false
                return found
            }
        }
        if p < negativeThreshold && triggered {
            if temporaryEnd == 0 { temporaryEnd = position }
            // Remember silences long enough to split at, should the region grow too long.
            if Double(position - temporaryEnd) > minimumSilenceAtMaximumSpeech { previousEnd = temporaryEnd }
            if Double(position - temporaryEnd) < minimumSilence { return found }
            if let start = currentStart, Double(temporaryEnd - start) > minimumSpeech {
                found += raw(SpeechRegion(start: start, end: temporaryEnd))
            }
            currentStart = nil
            (previousEnd, nextStart, temporaryEnd) = (0, 0, 0)
            triggered = false
        }
        return found
    }

    /// The last region found, its start final but its end not yet padded: the samples up to that
    /// end are certain to be speech.
    public var pendingRegion: SpeechRegion? { pending }

    /// No region found later can start before this sample: the open region's start (or, with
    /// none open, the chunk being read) less the padding a region's start may get.
    public var earliestFutureStart: Int {
        max(0, (currentStart ?? chunk * index) - Int(pad.rounded(.up)))
    }

    /// Ends the input, which held `length` samples; returns the last regions.
    public mutating func finish(length: Int) -> [SpeechRegion] {
        var found: [SpeechRegion] = []
        if let start = currentStart, Double(length - start) > minimumSpeech {
            found += raw(SpeechRegion(start: start, end: length))
        }
        currentStart = nil
        if var last = pending {
            last.end = Int(min(Double(length), Double(last.end) + pad))
            found.append(last)
            pending = nil
        }
        return found
    }

    /// Records a region as the loop finds it, and pads the one before, which is now final.
    private mutating func raw(_ region: SpeechRegion) -> [SpeechRegion] {
        var region = region
        if isFirst {
            region.start = Int(max(0, Double(region.start) - pad))
            isFirst = false
        }
        guard var previous = pending else {
            pending = region
            return []
        }
        let silence = region.start - previous.end
        if Double(silence) < 2 * pad {
            previous.end += silence / 2
            region.start = max(0, region.start - silence / 2)
        } else {
            // Before the next region's start, so inside the input: the reference's clamp to its
            // length cannot bite here.
            previous.end = Int(Double(previous.end) + pad)
            region.start = Int(max(0, Double(region.start) - pad))
        }
        pending = region
        return [previous]
    }
}

/// Maps times on the speech-only audio (the regions put end to end) back to the input's
/// timeline: faster-whisper's `SpeechTimestampsMap`.
public struct SpeechTimeline: Sendable, Equatable {
    public let regions: [SpeechRegion]
    public let sampleRate: Int
    /// Per region: where it ends in the speech-only audio, and the seconds of silence removed
    /// before it.
    private let endInSpeech: [Int]
    private let silenceBefore: [Double]

    public init(regions: [SpeechRegion], sampleRate: Int) {
        self.regions = regions
        self.sampleRate = sampleRate
        var previousEnd = 0
        var silent = 0
        var ends: [Int] = []
        var silences: [Double] = []
        for region in regions {
            silent += region.start - previousEnd
            previousEnd = region.end
            ends.append(region.end - silent)
            silences.append(Double(silent) / Double(sampleRate))
        }
        endInSpeech = ends
        silenceBefore = silences
    }

    /// Seconds of speech kept.
    public var speechSeconds: Double { Double(regions.reduce(0) { $0 + $1.count }) / Double(sampleRate) }

    /// The region a speech-only time falls in; with `isEnd`, a time exactly at a region's end
    /// belongs to that region rather than to the next.
    public func regionIndex(_ time: Double, isEnd: Bool = false) -> Int {
        let sample = Int(time * Double(sampleRate))
        if isEnd, let index = endInSpeech.firstIndex(of: sample) { return index }
        // bisect_right
        var (low, high) = (0, endInSpeech.count)
        while low < high {
            let middle = (low + high) / 2
            if sample < endInSpeech[middle] { high = middle } else { low = middle + 1 }
        }
        return min(low, max(0, endInSpeech.count - 1))
    }

    /// The input time of a speech-only time, to the hundredth of a second as the reference
    /// rounds it (Python's `round(x, 2)`: the nearest of the exact binary value).
    public func originalTime(_ time: Double, region: Int? = nil, isEnd: Bool = false) -> Double {
        guard !regions.isEmpty else { return time }
        let index = region ?? regionIndex(time, isEnd: isEnd)
        return roundedLikePython(silenceBefore[index] + time, digits: 2)
    }
}

/// Python's `round(value, digits)`: the decimal with `digits` places nearest to the exact binary
/// value (ties, which only exactly representable halves can be, to even), as printf rounds.
func roundedLikePython(_ value: Double, digits: Int) -> Double {
    guard value.isFinite else { return value }
    return Double(String(format: "%.\(digits)f", value)) ?? value
}
