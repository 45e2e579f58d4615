/// The speech of an input and nothing else: the regions Silero VAD finds, put end to end, as
/// faster-whisper's `vad_filter` gives them to the recognizer (`collect_chunks`).
///
/// It runs as the input is read: each block's whole chunks get their probabilities, the regions
/// they close come out, and only the samples a region may still take are kept. A region's
/// samples are handed out as soon as they are certain: up to its unpadded end once the next
/// region's start is known or its silence is long enough, the padding after. So what is held is
/// the longest stretch of speech without a pause of `minimumSilenceMilliseconds` (at most
/// `maximumSpeechSeconds` when that is set), never the whole input.
public final class SpeechFilter: SampleSource {
    public let sampleRate: Int
    private let source: any SampleSource
    private let detector: SileroVAD
    private var state: SileroVAD.State
    private var tracker: SpeechRegionTracker
    /// Input samples from `bufferStart` on, not yet dropped.
    private var buffer: [Float] = []
    private var bufferStart = 0
    /// Samples given to the detector so far (whole chunks).
    private var analysed = 0
    /// Samples read from the source.
    public private(set) var inputSamples = 0
    /// Input samples before this are handed out or dropped.
    private var handedOut = 0
    private var ready: [Float] = []
    /// For `nextRegion`: samples handed out of the regions not yet returned, and how many were.
    private var regionSamples: [Float] = []
    private var regionsReturned = 0
    private var finished = false
    /// The regions found so far, final, in order; all of them once `next()` has returned empty.
    public private(set) var regions: [SpeechRegion] = []
    /// The speech probability of every chunk, in order (31.25 a second: small beside the audio).
    public private(set) var probabilities: [Float] = []

    public init(source: any SampleSource, detector: SileroVAD, options: SpeechRegionOptions) {
        precondition(source.sampleRate == detector.config.samplingRate, "SpeechFilter: the source must be at 16 kHz")
        self.source = source
        self.detector = detector
        sampleRate = source.sampleRate
        state = detector.initialState()
        tracker = SpeechRegionTracker(
            options: options, sampleRate: sampleRate, chunkSamples: detector.config.windowSizeSamples)
    }

    /// Where the speech came from, once the input is exhausted.
    public var timeline: SpeechTimeline { SpeechTimeline(regions: regions, sampleRate: sampleRate) }

    /// Seconds of input read.
    public var inputSeconds: Double { Double(inputSamples) / Double(sampleRate) }

    public func next() throws -> [Float] {
        while ready.isEmpty && !finished {
            let block = try source.next()
            if block.isEmpty {
                finish()
            } else {
                buffer += block
                inputSamples += block.count
                analyse(upTo: inputSamples - inputSamples % detector.config.windowSizeSamples)
            }
        }
        defer { ready = [] }
        return ready
    }

    /// The next speech region whole, with its samples, once it is final; nil after the last.
    /// (Not to be mixed with `next()`, which hands out the same samples as they come.)
    public func nextRegion() throws -> (region: SpeechRegion, samples: [Float])? {
        while true {
            if regions.count > regionsReturned, regionSamples.count >= regions[regionsReturned].count {
                let region = regions[regionsReturned]
                let samples = Array(regionSamples.prefix(region.count))
                regionSamples.removeFirst(region.count)
                regionsReturned += 1
                return (region, samples)
            }
            let more = try next()
            // Exhausted: every region's samples were handed out, so none is left half-read.
            if more.isEmpty && finished { return nil }
            regionSamples += more
        }
    }

    /// Runs the detector over the whole chunks before `end` and hands out what they settle.
    private func analyse(upTo end: Int) {
        guard end > analysed else { return }
        let chunk = buffer[(analysed - bufferStart)..<(end - bufferStart)]
        let found = detector.probabilities(chunk, state: &state)
        analysed = end
        probabilities += found
        for probability in found {
            for region in tracker.append(probability) { handOut(region) }
        }
        settle()
    }

    /// The end of the input: the reference pads the samples with zeros to the next whole chunk
    /// (a whole chunk of zeros when they fill their last chunk exactly), so one more chunk is
    /// always read. Its last 64 samples are zeros too: faster-whisper takes each chunk's context
    /// from a view of the chunks and zeroes the last row of that view (meaning to leave the first
    /// chunk without context), which zeroes the end of the last chunk itself.
    private func finish() {
        finished = true
        let size = detector.config.windowSizeSamples
        var last = Array(buffer[(analysed - bufferStart)...])
        last += [Float](repeating: 0, count: size - last.count)
        let context = detector.config.contextSizeSamples
        last.replaceSubrange((size - context)..<size, with: repeatElement(0, count: context))
        let found = detector.probabilities(last[...], state: &state)
        probabilities += found
        for probability in found {
            for region in tracker.append(probability) { handOut(region) }
        }
        for region in tracker.finish(length: inputSamples) { handOut(region) }
        settle()
    }

    /// A final region: its samples not yet handed out.
    private func handOut(_ region: SpeechRegion) {
        regions.append(region)
        take(upTo: region.end, from: region.start)
    }

    /// Hands out the certain part of the pending region and drops what no region can take.
    private func settle() {
        if let pending = tracker.pendingRegion { take(upTo: pending.end, from: pending.start) }
        // Samples before this are handed out or in no region: the pending region's padding
        // starts at its end, and no later region starts before `earliestFutureStart`.
        let keep = min(tracker.earliestFutureStart, tracker.pendingRegion?.end ?? Int.max, analysed)
        let count = min(max(0, keep - bufferStart), buffer.count)
        if count > 0 {
            buffer.removeFirst(count)
            bufferStart += count
        }
    }

    /// Appends the input samples `max(start, handedOut)..<end` to what `next()` returns.
    private func take(upTo end: Int, from start: Int) {
        let first = max(start, handedOut)
        guard end > first else { return }
        precondition(first >= bufferStart, "SpeechFilter: a region's samples were dropped before it was found")
        ready += buffer[(first - bufferStart)..<(end - bufferStart)]
        handedOut = end
    }
}
