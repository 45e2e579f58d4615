import Foundation

/// What one input became: the text, the per-frame log-probabilities it was read from, and the
/// emitted tokens with their frames.
public struct Transcription: Sendable {
    public let text: String
    /// `(frames, vocab)` log-softmax of the CTC head's logits.
    public let logProbs: Matrix
    public let tokens: [CTCToken]
    /// Seconds of audio per frame (0.02 for base-960h).
    public let frameDuration: Double
    /// Seconds of audio transcribed.
    public let duration: Double
}

/// A loaded Wav2Vec2 CTC checkpoint with its vocabulary and preprocessing: samples in, text out.
public final class Transcriber: Sendable {
    public let directory: ModelDirectory
    public let model: Wav2Vec2ForCTC
    public let preprocessor: PreprocessorConfig
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
            tokenizerConfigPath: directory.exists("tokenizer_config.json") ? directory.file("tokenizer_config.json") : nil)
        guard vocabulary.count == config.vocabSize else {
            throw ModelError.vocabularyMismatch(
                path: directory.file("vocab.json"),
                reason: "has \(vocabulary.count) tokens but config.json vocab_size (the CTC head) is \(config.vocabSize)")
        }
        preprocessor = directory.exists("preprocessor_config.json")
            ? try PreprocessorConfig(contentsOf: directory.file("preprocessor_config.json")) : PreprocessorConfig()
        model = try Wav2Vec2ForCTC(config: config, weights: SafeTensorsFile(path: directory.file("model.safetensors")))
        decoder = CTCGreedyDecoder(vocabulary: vocabulary)
    }

    /// The rate the model takes its samples at.
    public var sampleRate: Int { preprocessor.samplingRate }

    /// `(frames, vocab)` logits for mono samples at `sampleRate`: one pass up to 30 s, overlapping
    /// windows beyond (`WindowPlan`). The input is normalised as a whole, as transformers does.
    public func logits(samples: [Float]) -> Matrix {
        let input = preprocessor.inputValues(samples)
        let plan = WindowPlan(
            samples: input.count, config: model.config, sampleRate: sampleRate,
            maximumWindowSeconds: maximumWindowSeconds, contextSeconds: contextSeconds)
        if plan.windows.count == 1 { return model(input) }
        var logits = Matrix(zeros: plan.frames, model.config.vocabSize)
        let vocab = logits.cols
        for window in plan.windows {
            let windowLogits = model(Array(input[window.samples]))
            let rows = (window.kept.lowerBound - window.firstFrame)..<(window.kept.upperBound - window.firstFrame)
            logits.data.replaceSubrange(
                (window.kept.lowerBound * vocab)..<(window.kept.upperBound * vocab),
                with: windowLogits.data[(rows.lowerBound * vocab)..<(rows.upperBound * vocab)])
        }
        return logits
    }

    /// Transcribes mono samples at `sampleRate`.
    public func transcribe(samples: [Float]) -> Transcription {
        let logProbs = logSoftmax(logits(samples: samples))
        let tokens = decoder.tokens(decoder.bestPath(logProbs))
        return Transcription(
            text: decoder.text(tokens), logProbs: logProbs, tokens: tokens,
            frameDuration: Double(model.config.samplesPerFrame) / Double(sampleRate),
            duration: Double(samples.count) / Double(sampleRate))
    }

    /// Reads, mixes down and resamples an audio file, then transcribes it.
    public func transcribe(file path: String) throws -> Transcription {
        transcribe(samples: try loadAudio(path: path, sampleRate: sampleRate))
    }
}
