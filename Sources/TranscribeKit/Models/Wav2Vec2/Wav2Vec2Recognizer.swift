import Foundation

/// What one input became: the text, the per-frame log-probabilities it was read from, and the
/// emitted tokens with their frames.
public struct CTCTranscription: Sendable {
    public let text: String
    /// `(frames, vocab)` log-softmax of the CTC head's logits; `(0, vocab)` when a stream was
    /// transcribed without keeping them.
    public let logProbs: Matrix
    public let tokens: [CTCToken]
    /// Per token: the probability the model gave it, averaged over its frames.
    public let tokenConfidences: [Double]
    /// Seconds of audio per frame (0.02 for base-960h).
    public let frameDuration: Double
    /// Seconds of audio transcribed.
    public let duration: Double

    /// `tokenConfidences` nil: computed from `logProbs`.
    public init(
        text: String, logProbs: Matrix, tokens: [CTCToken], tokenConfidences: [Double]? = nil,
        frameDuration: Double, duration: Double
    ) {
        self.text = text
        self.logProbs = logProbs
        self.tokens = tokens
        self.tokenConfidences = tokenConfidences ?? tokens.map { tokenConfidence($0, in: logProbs) }
        self.frameDuration = frameDuration
        self.duration = duration
    }
}

/// A loaded Wav2Vec2 CTC checkpoint with its vocabulary and preprocessing: samples in, text out.
public final class Wav2Vec2Recognizer: Sendable {
    public let directory: ModelDirectory
    public let model: Wav2Vec2ForCTC
    public let featureExtractor: Wav2Vec2FeatureExtractor
    public let decoder: CTCGreedyDecoder
    /// Longest input computed in one pass, and the context each window of a longer one carries.
    public let maximumWindowSeconds: Double
    public let contextSeconds: Double

    /// Loads config.json, vocab.json, model.safetensors and, where present,
    /// preprocessor_config.json and tokenizer_config.json.
    public init(
        directory: ModelDirectory,
        maximumWindowSeconds: Double = WindowPlan.maximumWindowSeconds,
        contextSeconds: Double = WindowPlan.contextSeconds
    ) throws {
        try directory.checkLayout()
        self.maximumWindowSeconds = maximumWindowSeconds
        self.contextSeconds = contextSeconds
        self.directory = directory
        let config = try Wav2Vec2Config(contentsOf: directory.file("config.json"))
        let vocabulary = try Vocabulary(
            vocabPath: directory.file("vocab.json"),
            tokenizerConfigPath: directory.exists("tokenizer_config.json")
                ? directory.file("tokenizer_config.json") : nil)
        guard vocabulary.count == config.vocabSize else {
            throw ModelError.vocabularyMismatch(
                path: directory.file("vocab.json"),
                reason:
                    "has \(vocabulary.count) tokens but config.json vocab_size (the CTC head) is \(config.vocabSize)")
        }
        featureExtractor =
            directory.exists("preprocessor_config.json")
            ? try Wav2Vec2FeatureExtractor(contentsOf: directory.file("preprocessor_config.json"))
            : Wav2Vec2FeatureExtractor()
        model = try Wav2Vec2ForCTC(config: config, weights: SafeTensorsFile(path: directory.file("model.safetensors")))
        decoder = CTCGreedyDecoder(vocabulary: vocabulary)
    }

    /// The rate the model takes its samples at.
    public var sampleRate: Int { featureExtractor.samplingRate }

    /// How inputs are cut into windows.
    public var windowPlan: WindowPlan {
        WindowPlan(
            config: model.config, sampleRate: sampleRate,
            maximumWindowSeconds: maximumWindowSeconds, contextSeconds: contextSeconds)
    }

    /// `(frames, vocab)` logits for mono samples at `sampleRate`.
    public func logits(samples: [Float]) -> Matrix {
        var remaining: [Float]? = samples
        return logits {
            defer { remaining = nil }; return remaining ?? []
        }.logits
    }

    /// `(frames, vocab)` logits for the samples `next` hands out block by block (empty at the end),
    /// and how many samples there were. An input that fits one window is normalised as a whole
    /// and computed in one pass, exactly as transformers does; a longer one window by window, each
    /// normalised on its own as transformers' pipeline does with chunking, holding no more than a
    /// window of samples at a time.
    public func logits(_ next: () throws -> [Float]) rethrows -> (logits: Matrix, samples: Int) {
        var logits: [Float] = []
        let samples = try forEachWindow(next) { logits += $0.data }
        return (
            Matrix(rows: logits.count / model.config.vocabSize, cols: model.config.vocabSize, data: logits), samples
        )
    }

    /// Windows of a long input computed at once, each on its share of the threads (see
    /// `forEachWindow`): at most this many, so that their activations (about 40 MB each for
    /// base-960h's 30 s windows) stay small beside the weights on machines with many cores.
    public static let maximumWindowsAtOnce = 4

    /// The windows of `logits(_:)` one by one: `body` gets each window's kept `(frames, vocab)`
    /// logits in order. Returns how many samples there were.
    ///
    /// With more than one thread, up to `maximumWindowsAtOnce` windows are cut ahead and computed
    /// at once, each with its share of the threads: one window per thread keeps the threads busy
    /// with no handoff inside a window, where one window split over every thread waits for its
    /// slowest piece at each of a few hundred steps. Results do not depend on how many go at once.
    func forEachWindow(_ next: () throws -> [Float], _ body: (Matrix) throws -> Void) rethrows -> Int {
        let plan = windowPlan
        let vocab = model.config.vocabSize
        let windowsAtOnce = min(Parallel.threads, Self.maximumWindowsAtOnce)
        var buffer: [Float] = []  // input samples from `bufferStart` on
        var bufferStart = 0
        var ended = false
        func read(upTo total: Int) throws {
            while !ended && bufferStart + buffer.count < total {
                let block = try next()
                if block.isEmpty { ended = true } else { buffer += block }
            }
        }

        var chunkStart = 0
        var finished = false
        while !finished {
            // Cut the next windows; each starts where the previous one's kept frames end.
            var windows: [(window: WindowPlan.Window, samples: [Float])] = []
            while windows.count < windowsAtOnce {
                try read(upTo: plan.samplesNeeded(keptFrom: chunkStart))
                guard
                    let window = plan.window(
                        keptFrom: chunkStart, samplesAvailable: bufferStart + buffer.count, endOfInput: ended)
                else {
                    finished = true
                    break
                }
                let samples = (window.samples.lowerBound - bufferStart)..<(window.samples.upperBound - bufferStart)
                windows.append((window, Array(buffer[samples])))
                if window.kept.isEmpty {
                    finished = true
                    break
                }
                chunkStart = window.kept.upperBound
            }
            let outputs = Parallel.map(windows.count) { model(featureExtractor.inputValues(windows[$0].samples)) }
            for ((window, _), windowLogits) in zip(windows, outputs) {
                let rows = (window.kept.lowerBound - window.firstFrame)..<(window.kept.upperBound - window.firstFrame)
                try body(
                    Matrix(
                        rows: rows.count, cols: vocab,
                        data: Array(windowLogits.data[(rows.lowerBound * vocab)..<(rows.upperBound * vocab)])))
            }
            // Keep only what the next window starts from.
            let nextStart = max(0, chunkStart - plan.contextFrames) * model.config.samplesPerFrame
            if nextStart > bufferStart {
                buffer.removeFirst(min(buffer.count, nextStart - bufferStart))
                bufferStart = nextStart
            }
        }
        return bufferStart + buffer.count
    }

    /// Transcribes an audio stream at `sampleRate`, window by window. Each window's frames are
    /// decoded as it is done; the `(frames, vocab)` log-probabilities are kept only with
    /// `keepingLogProbs`, so that otherwise memory grows with the transcript, not with the audio.
    /// `updates` hears each window's end and the words closed so far.
    public func transcribe(
        stream: any SampleSource, keepingLogProbs: Bool = true, updates: RecognitionUpdates? = nil
    ) throws -> CTCTranscription {
        var decoding = CTCStreamDecoder(
            decoder: decoder, vocabSize: model.config.vocabSize, keepingLogProbs: keepingLogProbs)
        let samples = try forEachWindow({ try stream.next() }) {
            decoding.append(logSoftmax($0))
            guard let updates else { return }
            let heard = Double(decoding.frames) * frameDuration
            updates.heard(heard)
            updates.decided(
                Recognition(
                    transcript: decoding.words(0..<decoding.closedTokens, frameDuration: frameDuration, heard: heard),
                    segmentWords: nil, emissions: nil))
        }
        decoding.finish()
        return CTCTranscription(
            text: decoder.text(decoding.tokens), logProbs: decoding.logProbs, tokens: decoding.tokens,
            tokenConfidences: decoding.confidences, frameDuration: frameDuration,
            duration: Double(samples) / Double(sampleRate))
    }

    /// Transcribes mono samples at `sampleRate`.
    public func transcribe(samples: [Float]) -> CTCTranscription {
        transcription(logits: logits(samples: samples), samples: samples.count)
    }

    /// Reads, mixes down and resamples an audio file block by block, and transcribes it.
    public func transcribe(file path: String) throws -> CTCTranscription {
        try transcribe(stream: AudioStream(path: path, sampleRate: sampleRate))
    }

    private func transcription(logits: Matrix, samples: Int) -> CTCTranscription {
        let logProbs = logSoftmax(logits)
        let tokens = decoder.tokens(decoder.bestPath(logProbs))
        return CTCTranscription(
            text: decoder.text(tokens), logProbs: logProbs, tokens: tokens,
            frameDuration: frameDuration, duration: Double(samples) / Double(sampleRate))
    }

    /// Seconds of audio per output frame.
    var frameDuration: Double { Double(model.config.samplesPerFrame) / Double(sampleRate) }
}

extension Wav2Vec2Recognizer: SpeechRecognizer {
    public var family: ModelFamily { .wav2vec2 }
    public var hasEmissions: Bool { true }

    /// A long input runs up to `maximumWindowsAtOnce` windows at once, one per thread.
    public func windowsAtOnce(threads: Int) -> Int { min(max(threads, 1), Self.maximumWindowsAtOnce) }

    /// The first convolution's output `(frames, conv_dim[0])` of a full window: 196 MB for
    /// base-960h's 30 s.
    public var largestActivationBytes: Int {
        model.config.firstConvolutionBytes(samples: windowPlan.maximumWindowSamples)
    }

    public func recognize(stream: any SampleSource, keepingEmissions: Bool, updates: RecognitionUpdates?) throws
        -> Recognition
    {
        let transcription = try transcribe(stream: stream, keepingLogProbs: keepingEmissions, updates: updates)
        return Recognition(
            transcript: TimedTranscript(transcription, vocabulary: decoder.vocabulary), segmentWords: nil,
            emissions: keepingEmissions ? transcription.logProbs : nil)
    }
}
