/// How an input is cut into overlapping windows so that memory and attention cost stay bounded
/// however long it is, while the stitched output has exactly the frames one pass would give.
///
/// Inputs up to `maximumWindowSeconds` are one window: exactly what transformers computes.
/// Longer inputs are cut into chunks of frames; each window adds `contextSeconds` of audio on
/// both sides (less at the ends), whose frames are computed and then dropped. Every window
/// starts on a frame boundary (a multiple of the total conv stride), so window frame `j` is
/// global frame `firstFrame + j`, and every global frame is kept from exactly one window.
/// Windows are planned one after the other, so a stream can be cut before its length is known.
public struct WindowPlan: Sendable, Equatable {
    public struct Window: Sendable, Equatable {
        /// The input samples the model runs on.
        public let samples: Range<Int>
        /// The global frame of the window's first output frame.
        public let firstFrame: Int
        /// The global frames kept from this window.
        public let kept: Range<Int>
    }

    public static let maximumWindowSeconds = 30.0
    public static let contextSeconds = 1.5

    let config: Wav2Vec2Config
    /// Frames of the longest window, of the context on each side, and kept from each window.
    let windowFrames: Int
    let contextFrames: Int
    let chunkFrames: Int

    public init(
        config: Wav2Vec2Config, sampleRate: Int,
        maximumWindowSeconds: Double = maximumWindowSeconds, contextSeconds: Double = contextSeconds
    ) {
        self.config = config
        windowFrames = max(1, config.frameCount(samples: Int(maximumWindowSeconds * Double(sampleRate))))
        contextFrames = min(Int(contextSeconds * Double(sampleRate)) / config.samplesPerFrame, windowFrames / 4)
        chunkFrames = windowFrames - 2 * contextFrames
    }

    /// Samples of the longest input computed in one pass (one more would give one more frame).
    public var maximumWindowSamples: Int { windowFrames * config.samplesPerFrame + config.receptiveField - 1 }

    /// Samples that must be read before the window keeping frames from `chunkStart` can be cut;
    /// for the first, one more than a single pass takes, to know whether the input needs windows.
    public func samplesNeeded(keptFrom chunkStart: Int) -> Int {
        let end = fullWindowEnd(keptFrom: chunkStart)
        return chunkStart == 0 ? max(end, maximumWindowSamples + 1) : end
    }

    /// One past the last sample of a window with its whole right context: the samples its
    /// `chunkFrames + contextFrames` frames from `chunkStart` on need.
    private func fullWindowEnd(keptFrom chunkStart: Int) -> Int {
        (chunkStart + chunkFrames + contextFrames - 1) * config.samplesPerFrame + config.receptiveField
    }

    /// The window keeping frames from `chunkStart`, given how many samples exist so far; nil
    /// when more must be read first, or, at the end of the input, when every frame is kept.
    public func window(keptFrom chunkStart: Int, samplesAvailable: Int, endOfInput: Bool) -> Window? {
        let stride = config.samplesPerFrame
        let first = max(0, chunkStart - contextFrames)
        if samplesAvailable >= samplesNeeded(keptFrom: chunkStart) {
            return Window(
                samples: (first * stride)..<fullWindowEnd(keptFrom: chunkStart), firstFrame: first,
                kept: chunkStart..<(chunkStart + chunkFrames))
        }
        guard endOfInput else { return nil }
        let frames = config.frameCount(samples: samplesAvailable)
        if chunkStart == 0 && isOnePass(samplesAvailable) {
            return Window(samples: 0..<samplesAvailable, firstFrame: 0, kept: 0..<frames)
        }
        guard chunkStart < frames else { return nil }
        // The last window runs to the end of the input, as the one pass does.
        return Window(
            samples: (first * stride)..<samplesAvailable, firstFrame: first,
            kept: chunkStart..<min(chunkStart + chunkFrames, frames))
    }

    /// Whether an input of `samples` is computed in one pass.
    public func isOnePass(_ samples: Int) -> Bool { config.frameCount(samples: samples) <= windowFrames }

    /// Every window of an input of known length.
    public func windows(samples: Int) -> [Window] {
        var windows: [Window] = []
        var chunkStart = 0
        while let window = window(keptFrom: chunkStart, samplesAvailable: samples, endOfInput: true) {
            windows.append(window)
            if window.kept.isEmpty { break }
            chunkStart = window.kept.upperBound
        }
        return windows
    }
}
