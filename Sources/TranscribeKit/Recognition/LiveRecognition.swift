import Foundation

/// A recognizer fed an endless stream a block at a time, with latency and memory bounded however
/// long it runs: after each step it says which words are final and which are still a guess.
public protocol LiveRecognition: AnyObject {
    /// Takes the next samples; returns what changed, or nil where nothing was recomputed.
    func feed(_ samples: [Float]) throws -> LiveUpdate?
    /// The input ended: what is left becomes final.
    func finish() throws -> LiveUpdate
}

/// What one step of live recognition decided.
public struct LiveUpdate: Sendable, Equatable {
    /// Words final from now on, in order, after those of the updates before; times are seconds
    /// of the stream.
    public var confirmed: [TimedTranscript.Word]
    /// The words after them as they stand now; the next update may change or drop them.
    public var tentative: [TimedTranscript.Word]
    /// Seconds of the stream heard.
    public var heard: Double
}

/// A family that cannot run live.
public struct LiveUnsupported: Error, CustomStringConvertible {
    public let family: ModelFamily
    public var description: String { "--live transcribes speech; \(family) models cannot run live" }
}

extension SpeechRecognizer {
    /// A live recognition of a new stream with this model.
    public func liveRecognition() throws -> any LiveRecognition {
        switch self {
        case let ctc as Wav2Vec2Recognizer: return CTCLiveRecognition(recognizer: ctc)
        case let whisper as WhisperRecognizer: return WhisperLiveRecognition(recognizer: whisper)
        default: throw LiveUnsupported(family: family)
        }
    }
}

/// CTC emissions on a sliding window: each window keeps the frames of its middle, with
/// `contextSeconds` of audio on each side computed and dropped (the right one is the wait), and
/// greedy decoding runs on as frames are kept. A word is final once the delimiter after it is
/// decoded; the word still open is the guess.
final class CTCLiveRecognition: LiveRecognition {
    /// Windows of 4 s keeping their middle 2 s: a frame waits at most 2 s for its window, plus 1 s
    /// of right context.
    static let windowSeconds = 4.0
    static let contextSeconds = 1.0

    private let recognizer: Wav2Vec2Recognizer
    private let plan: WindowPlan
    private var decoding: CTCStreamDecoder
    /// Input samples from `bufferStart` on, and how many were received.
    private var buffer: [Float] = []
    private var bufferStart = 0
    private var received = 0
    /// The first frame the next window keeps.
    private var chunkStart = 0
    private var ended = false

    init(recognizer: Wav2Vec2Recognizer) {
        self.recognizer = recognizer
        plan = WindowPlan(
            config: recognizer.model.config, sampleRate: recognizer.sampleRate,
            maximumWindowSeconds: Self.windowSeconds, contextSeconds: Self.contextSeconds)
        decoding = CTCStreamDecoder(
            decoder: recognizer.decoder, vocabSize: recognizer.model.config.vocabSize, keepingLogProbs: false)
    }

    func feed(_ samples: [Float]) throws -> LiveUpdate? {
        buffer += samples
        received += samples.count
        var computed = false
        while let window = plan.window(keptFrom: chunkStart, samplesAvailable: received, endOfInput: false) {
            run(window)
            computed = true
        }
        return computed ? update() : nil
    }

    func finish() throws -> LiveUpdate {
        while !ended, let window = plan.window(keptFrom: chunkStart, samplesAvailable: received, endOfInput: true) {
            run(window)
            if window.kept.isEmpty { break }
        }
        ended = true
        decoding.finish()
        return update()
    }

    /// Computes a window, decodes the frames it keeps, and drops the samples no later window needs.
    private func run(_ window: WindowPlan.Window) {
        let model = recognizer.model
        let samples = Array(
            buffer[(window.samples.lowerBound - bufferStart)..<(window.samples.upperBound - bufferStart)])
        let logits = model(recognizer.featureExtractor.inputValues(samples))
        let rows = (window.kept.lowerBound - window.firstFrame)..<(window.kept.upperBound - window.firstFrame)
        let vocab = model.config.vocabSize
        decoding.append(
            logSoftmax(
                Matrix(
                    rows: rows.count, cols: vocab,
                    data: Array(logits.data[(rows.lowerBound * vocab)..<(rows.upperBound * vocab)]))))
        chunkStart = window.kept.upperBound
        let keepFrom = max(0, chunkStart - plan.contextFrames) * model.config.samplesPerFrame
        if keepFrom > bufferStart {
            buffer.removeFirst(min(buffer.count, keepFrom - bufferStart))
            bufferStart = keepFrom
        }
    }

    /// The words a delimiter closed since the last update, which leave the decoder, and the open
    /// word after them.
    private func update() -> LiveUpdate {
        let heard = Double(decoding.frames) * recognizer.frameDuration
        let (count, closed) = (decoding.tokens.count, ended ? decoding.tokens.count : decoding.closedTokens)
        func words(_ range: Range<Int>) -> [TimedTranscript.Word] {
            decoding.words(range, frameDuration: recognizer.frameDuration, heard: heard).words
        }
        let update = LiveUpdate(confirmed: words(0..<closed), tentative: words(closed..<count), heard: heard)
        decoding.removeFirstTokens(closed)
        return update
    }
}
