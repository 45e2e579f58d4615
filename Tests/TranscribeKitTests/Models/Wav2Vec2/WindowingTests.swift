import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

@Suite struct WindowingTests {
    static let base = Wav2Vec2Config()  // facebook/wav2vec2-base-960h's conv stack: 320 samples a frame

    /// Every frame of the one pass is kept from exactly one window, in order; each window is at
    /// most the maximum length and yields exactly the frames it is said to.
    @Test(arguments: [
        0, 399, 400, 16_000 * 30, 16_000 * 30 + 1, 16_000 * 31 + 77, 16_000 * 95 + 123, 16_000 * 600, 16_000 * 3600,
    ])
    func windowsCoverEveryFrameOnce(_ samples: Int) {
        let windows = WindowPlan(config: Self.base, sampleRate: 16_000).windows(samples: samples)
        var next = 0
        for window in windows {
            #expect(window.kept.lowerBound == next)
            next = window.kept.upperBound
            #expect(window.samples.lowerBound == window.firstFrame * Self.base.samplesPerFrame)
            #expect(window.samples.upperBound <= samples)
            #expect(window.samples.count <= 30 * 16_000 + Self.base.samplesPerFrame)
            let produced = window.firstFrame..<(window.firstFrame + Self.base.frameCount(samples: window.samples.count))
            #expect(produced.contains(window.kept.lowerBound) || window.kept.isEmpty)
            #expect(produced.upperBound >= window.kept.upperBound)
        }
        #expect(next == Self.base.frameCount(samples: samples))
        if samples <= 30 * 16_000 { #expect(windows.count == 1) }
    }

    @Test func windowsCarryContextOnBothSides() {
        let windows = WindowPlan(config: Self.base, sampleRate: 16_000).windows(samples: 16_000 * 100)
        let context = Int(WindowPlan.contextSeconds * 16_000) / Self.base.samplesPerFrame
        #expect(windows.count == 4)
        for window in windows.dropFirst() { #expect(window.kept.lowerBound - window.firstFrame == context) }
        for window in windows.dropLast() {
            let produced = Self.base.frameCount(samples: window.samples.count)
            #expect(window.firstFrame + produced - window.kept.upperBound == context)
        }
    }

    /// Windowed inference on a fixture clip against the one pass: the same frames, and the same
    /// values wherever a frame's window holds the whole input (here: none cut).
    @Test(arguments: Fixtures.modelNames)
    func windowedOutputHasTheOnePassFrames(_ name: String) throws {
        let samples = try loadAudio(path: Fixtures.clip("quick_brown_fox"), sampleRate: 16_000)
        let onePass = try Wav2Vec2Recognizer(directory: Fixtures.model(name)).logits(samples: samples)
        let windowed = try Wav2Vec2Recognizer(
            directory: Fixtures.model(name), maximumWindowSeconds: 1.0, contextSeconds: 0.25
        )
        .logits(samples: samples)
        #expect(windowed.rows == onePass.rows && windowed.cols == onePass.cols)
        // Cut into ~1 s windows, attention sees less of the input; most frames still agree (82-90%
        // here; a stitch one frame off drops to about the share of blank frames).
        let decoder = try Wav2Vec2Recognizer(directory: Fixtures.model(name)).decoder
        let agreement = zip(decoder.bestPath(windowed), decoder.bestPath(onePass)).filter { $0 == $1 }.count
        #expect(Double(agreement) / Double(onePass.rows) > 0.75, "argmax agreement \(agreement)/\(onePass.rows)")
    }
}

@Suite struct StreamingTests {
    /// Fed block by block, in blocks of any size, windowed inference gives exactly what it gives
    /// on the whole array, and the file path (read and resampled in blocks) the same again.
    @Test(arguments: Fixtures.modelNames)
    func blocksOfAnySizeGiveTheSameOutput(_ name: String) throws {
        let transcriber = try Wav2Vec2Recognizer(
            directory: Fixtures.model(name), maximumWindowSeconds: 1.0, contextSeconds: 0.25)
        let samples = try loadAudio(path: Fixtures.clip("numbers"), sampleRate: 16_000)
        let whole = transcriber.logits(samples: samples)
        var offset = 0
        var size = 1
        let (streamed, count) = transcriber.logits {
            defer { offset += size; size = size * 3 % 7919 + 1 }
            return offset < samples.count ? Array(samples[offset..<min(samples.count, offset + size)]) : []
        }
        #expect(count == samples.count)
        #expect(streamed == whole)
        #expect(try transcriber.transcribe(file: Fixtures.clip("numbers")).logProbs == logSoftmax(whole))
    }

    /// Decoded window by window without keeping the log-probabilities (what the CLI does unless
    /// --emissions asks for them), a stream gives the tokens, confidences and text that decoding
    /// the whole `(frames, vocab)` matrix gives, and holds no frames.
    @Test(arguments: Fixtures.modelNames)
    func decodingWindowByWindowMatchesTheWhole(_ name: String) throws {
        let transcriber = try Wav2Vec2Recognizer(
            directory: Fixtures.model(name), maximumWindowSeconds: 1.0, contextSeconds: 0.25)
        let kept = try transcriber.transcribe(stream: AudioStream(path: Fixtures.clip("numbers"), sampleRate: 16_000))
        let dropped = try transcriber.transcribe(
            stream: AudioStream(path: Fixtures.clip("numbers"), sampleRate: 16_000), keepingLogProbs: false)
        let decoder = transcriber.decoder
        let tokens = decoder.tokens(decoder.bestPath(kept.logProbs))
        #expect(!tokens.isEmpty)
        #expect(kept.tokens == tokens && dropped.tokens == tokens)
        #expect(kept.text == decoder.text(tokens) && dropped.text == kept.text)
        let confidences = tokens.map { tokenConfidence($0, in: kept.logProbs) }
        #expect(kept.tokenConfidences == confidences && dropped.tokenConfidences == confidences)
        #expect(dropped.logProbs.rows == 0 && dropped.duration == kept.duration)
    }
}

@Suite struct ThreadCountTests {
    /// Work is split over threads by output columns, rows, heads, frame blocks or windows, never
    /// inside a sum, so every thread count gives bit-identical output: in one pass, and cut into
    /// windows (more than 4), of which 2, 3 and 4 go at once with 2, 3 and 8 threads.
    @Test(arguments: Fixtures.modelNames, [false, true])
    func outputIsIdenticalForEveryThreadCount(_ name: String, windowed: Bool) throws {
        let transcriber =
            windowed
            ? try Wav2Vec2Recognizer(directory: Fixtures.model(name), maximumWindowSeconds: 1.0, contextSeconds: 0.25)
            : try Wav2Vec2Recognizer(directory: Fixtures.model(name))
        let samples = try loadAudio(path: Fixtures.clip("numbers"), sampleRate: 16_000)
        let windows = transcriber.windowPlan.windows(samples: samples.count).count
        #expect(windowed ? windows > Wav2Vec2Recognizer.maximumWindowsAtOnce : windows == 1, "\(windows) windows")
        let saved = Parallel.threads
        defer { BLAS.setThreads(saved) }
        var outputs: [[Float]] = []
        for threads in [1, 2, 3, 8] {
            BLAS.setThreads(threads)
            outputs.append(transcriber.logits(samples: samples).data)
        }
        for output in outputs.dropFirst() {
            try #require(output.count == outputs[0].count)
            #expect(zip(output, outputs[0]).filter { $0.0.bitPattern != $0.1.bitPattern }.isEmpty)
        }
    }
}
