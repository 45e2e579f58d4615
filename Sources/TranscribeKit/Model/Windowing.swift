/// How a long input is cut into overlapping windows so that memory and attention cost stay
/// bounded, while the stitched output has exactly the frames one pass would give.
///
/// Inputs up to `maximumWindow` seconds are one window: exactly what transformers computes.
/// Longer inputs are cut into chunks of frames; each window adds `context` seconds of audio on
/// both sides (less at the ends), whose frames are computed and then dropped. Every window
/// starts on a frame boundary (a multiple of the total conv stride), so window frame `j` is
/// global frame `firstFrame + j` and every global frame is kept from exactly one window.
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

    public let frames: Int
    public let windows: [Window]

    public init(samples: Int, config: Wav2Vec2Config, sampleRate: Int,
                maximumWindowSeconds: Double = maximumWindowSeconds, contextSeconds: Double = contextSeconds) {
        frames = config.frameCount(samples: samples)
        let stride = config.samplesPerFrame
        let field = config.receptiveField
        let windowFrames = max(1, (Int(maximumWindowSeconds * Double(sampleRate)) - field) / stride + 1)
        guard frames > windowFrames else {
            windows = [Window(samples: 0..<samples, firstFrame: 0, kept: 0..<frames)]
            return
        }
        let contextFrames = min(Int(contextSeconds * Double(sampleRate)) / stride, windowFrames / 4)
        let chunkFrames = windowFrames - 2 * contextFrames
        var windows: [Window] = []
        var chunkStart = 0
        while chunkStart < frames {
            let chunkEnd = min(chunkStart + chunkFrames, frames)
            let first = max(0, chunkStart - contextFrames)
            let last = min(frames, chunkEnd + contextFrames)
            // (last - first) frames need (last - first - 1) * stride + field samples; the final
            // window runs to the end of the input, like the one pass.
            let end = last == frames ? samples : (last - 1 - first) * stride + field + first * stride
            windows.append(Window(samples: (first * stride)..<end, firstFrame: first, kept: chunkStart..<chunkEnd))
            chunkStart = chunkEnd
        }
        self.windows = windows
    }
}
