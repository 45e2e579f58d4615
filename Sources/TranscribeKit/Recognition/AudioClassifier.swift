import Foundation

/// A network that scores one clip: its samples in, one logit per label out; nil when the clip is
/// too short to hold a single frame.
protocol ClipClassifier: Sendable {
    /// The clip length the model was made for, in samples: its default window.
    var inputSamples: Int { get }
    /// The fewest samples that give a result, and the most one pass hears.
    var minimumSamples: Int { get }
    var maximumSamples: Int { get }
    /// Bytes of the largest activation of one clip of `samples` samples.
    func largestActivationBytes(samples: Int) -> Int
    func logits(_ samples: [Float]) -> [Float]?
}

/// A loaded audio classifier of any architecture (`Wav2Vec2ForSequenceClassification`,
/// `HubertForSequenceClassification`, `ASTForAudioClassification`): an input in, its scores, its
/// timeline of windows and the events along it out.
public final class AudioClassifier: Sendable {
    public let directory: ModelDirectory
    /// The architecture config.json names.
    public let architecture: String
    public let labels: ClassLabels
    public let sampleRate: Int
    public let options: ClassificationOptions
    let network: any ClipClassifier

    /// The architectures this class runs, as config.json's `architectures` names them.
    public static let architectures = [
        "Wav2Vec2ForSequenceClassification", "HubertForSequenceClassification", "ASTForAudioClassification",
    ]

    /// Loads config.json, preprocessor_config.json where present, and model.safetensors. Event
    /// labels in `options` must be labels of the model.
    public init(directory: ModelDirectory, architecture: String, options: ClassificationOptions = .init()) throws {
        try directory.checkLayout(files: ["config.json"])
        self.directory = directory
        self.architecture = architecture
        let configPath = directory.file("config.json")
        labels = try ClassLabels(json: readModelFile(configPath), path: configPath)
        let preprocessor =
            directory.exists("preprocessor_config.json") ? directory.file("preprocessor_config.json") : nil
        let weights = try SafeTensorsFile(path: directory.file("model.safetensors"))
        switch architecture {
        case "ASTForAudioClassification":
            let extractor = try preprocessor.map(ASTFeatureExtractor.init(contentsOf:)) ?? ASTFeatureExtractor()
            let config = try ASTConfig(contentsOf: configPath)
            guard extractor.maxLength == config.maxLength, extractor.numMelBins == config.numMelBins else {
                throw ModelError.invalidConfig(
                    path: preprocessor ?? configPath,
                    field: extractor.maxLength == config.maxLength ? "num_mel_bins" : "max_length",
                    reason:
                        "the features (\(extractor.maxLength) x \(extractor.numMelBins)) are not the model's input "
                        + "(\(config.maxLength) x \(config.numMelBins))")
            }
            network = ASTClipClassifier(
                model: try ASTForAudioClassification(config: config, numLabels: labels.names.count, weights: weights),
                featureExtractor: extractor)
            sampleRate = extractor.samplingRate
        default:
            let extractor =
                try preprocessor.map(Wav2Vec2FeatureExtractor.init(contentsOf:)) ?? Wav2Vec2FeatureExtractor()
            let config = try Wav2Vec2Config(contentsOf: configPath)
            network = Wav2Vec2ClipClassifier(
                model: try Wav2Vec2ForSequenceClassification(
                    config: config, numLabels: labels.names.count, weights: weights),
                featureExtractor: extractor)
            sampleRate = extractor.samplingRate
        }
        var options = options
        if let specs = options.eventLabels { options.eventLabels = try labels.resolve(specs) }
        self.options = options
        try checkWindows()
    }

    /// A window the model hears whole, and a hop no longer than it, so that every sample is heard.
    private func checkWindows() throws {
        let rate = Double(sampleRate)
        for (name, value) in [("window", options.windowSeconds), ("hop", options.hopSeconds)] {
            if let value, !(value > 0 && value <= 86_400) {
                throw ClassificationOptionError.badWindow("the \(name) must be above 0 seconds and at most a day")
            }
        }
        if let window = options.windowSeconds, window * rate > Double(network.maximumSamples) {
            throw ClassificationOptionError.badWindow(
                "a window of \(window) s is longer than \(architecture) hears at once (\(maximumWindowSeconds) s)")
        }
        if hopSamples > windowSamples {
            throw ClassificationOptionError.badWindow(
                "a hop of \(Double(hopSamples) / rate) s is longer than the window "
                    + "(\(Double(windowSamples) / rate) s): audio would be skipped")
        }
    }

    /// Keyword spotters: Speech Commands label sets (with `_silence_` or `_unknown_`), which hear
    /// one second at a time.
    public var isKeywordSpotter: Bool { !labels.backgroundLabels.isEmpty }

    /// The longest window the model hears whole, in seconds: `--window` may not be longer.
    public var maximumWindowSeconds: Double { Double(network.maximumSamples) / Double(sampleRate) }

    /// Samples per window and between window starts.
    public var windowSamples: Int {
        // Keyword spotters hear the one-second clips of Speech Commands.
        let standard = isKeywordSpotter ? min(sampleRate, network.inputSamples) : network.inputSamples
        return max(
            network.minimumSamples, options.windowSeconds.map { Int(($0 * Double(sampleRate)).rounded()) } ?? standard)
    }
    public var hopSamples: Int {
        max(1, options.hopSeconds.map { Int(($0 * Double(sampleRate)).rounded()) } ?? windowSamples / 2)
    }

    /// The logits of one clip, computed whole as transformers' pipeline does (an AST clip longer
    /// than the model's input is cut to it); nil when it is too short for one frame.
    public func logits(clip samples: [Float]) -> [Float]? { network.logits(samples) }

    /// Classifies the input `stream` hands out, window by window, holding no more than a window
    /// and a block of samples at a time. An input no longer than a window is one window; a longer
    /// one has a window every hop from the start while a whole window fits, then one last window
    /// ending at the input's end, so that every sample is heard and every window is whole.
    /// Several windows go at once, each on its share of the threads.
    /// `heard` is told the end of each window classified.
    public func classify(stream: any SampleSource, heard: (Double) -> Void = { _ in }) throws -> AudioClassification {
        let (window, hop) = (windowSamples, hopSamples)
        let scoreFunction = options.scores ?? labels.defaultScores
        let windowsAtOnce = min(max(1, Parallel.threads), Wav2Vec2Recognizer.maximumWindowsAtOnce)
        var buffer: [Float] = []  // input samples from `bufferStart` on
        var bufferStart = 0
        var nextStart = 0  // of the next regular window
        var ended = false
        var windows: [ClassifiedWindow] = []

        func classify(_ starts: [Int], total: Int) throws {
            let clips = starts.map { start in
                Array(buffer[(start - bufferStart)..<(min(start + window, total) - bufferStart)])
            }
            let outputs = Parallel.map(clips.count) { network.logits(clips[$0]) }
            for (start, logits) in zip(starts, outputs) {
                guard let logits else {
                    throw ClassificationError.tooShort(
                        seconds: Double(total) / Double(sampleRate),
                        needed: Double(network.minimumSamples) / Double(sampleRate))
                }
                windows.append(
                    ClassifiedWindow(
                        start: Double(start) / Double(sampleRate),
                        end: Double(min(start + window, total)) / Double(sampleRate),
                        scores: scoreFunction.apply(logits)))
            }
            if let last = windows.last { heard(last.end) }
        }

        while !ended {
            let block = try stream.next()
            if block.isEmpty { ended = true } else { buffer += block }
            let received = bufferStart + buffer.count
            // An input no longer than a window is one clip; a longer one gets its regular
            // windows as soon as their samples are in, a few at a time.
            guard received > window else { continue }
            while nextStart + window <= received {
                var starts: [Int] = []
                while nextStart + window <= received && starts.count < windowsAtOnce {
                    starts.append(nextStart)
                    nextStart += hop
                }
                try classify(starts, total: received)
            }
            // Keep what the next window, or a last window ending at the input's end, needs.
            let keepFrom = min(nextStart, received - window)
            if keepFrom > bufferStart {
                buffer.removeFirst(keepFrom - bufferStart)
                bufferStart = keepFrom
            }
        }
        let total = bufferStart + buffer.count
        if windows.isEmpty {
            try classify([0], total: total)
        } else if nextStart - hop + window < total {
            try classify([total - window], total: total)
        }

        let eventLabels =
            options.eventLabels.map { $0.compactMap { labels.names.firstIndex(of: $0) } }
            ?? labels.names.indices.filter { !labels.backgroundLabels.contains(labels.names[$0]) }
        let detector = EventDetector(
            labels: labels.names, eventLabels: eventLabels, threshold: options.eventThreshold,
            minimumGap: options.eventMinimumGap ?? (isKeywordSpotter ? 0.5 : 0))
        return AudioClassification(
            labels: labels.names, scoreFunction: scoreFunction, topK: options.topK,
            duration: Double(total) / Double(sampleRate), windows: windows, events: detector.events(windows))
    }
}

extension AudioClassifier: SpeechRecognizer {
    public var family: ModelFamily { .audioClassification }
    public var hasEmissions: Bool { false }
    public func windowsAtOnce(threads: Int) -> Int { max(1, threads) }
    public var largestActivationBytes: Int { network.largestActivationBytes(samples: windowSamples) }

    public func recognize(stream: any SampleSource, keepingEmissions: Bool, updates: RecognitionUpdates?) throws
        -> Recognition
    {
        let classification = try classify(stream: stream, heard: updates?.heard ?? { _ in })
        var recognition = Recognition(
            transcript: TimedTranscript(
                text: classification.top.first?.label ?? "", duration: classification.duration, words: []),
            segmentWords: nil, emissions: nil)
        recognition.classification = classification
        return recognition
    }
}

/// An input the classifier cannot take.
public enum ClassificationError: Error, CustomStringConvertible, Equatable {
    case tooShort(seconds: Double, needed: Double)

    public var description: String {
        switch self {
        case .tooShort(let seconds, let needed):
            "too short to classify: \(seconds) s of audio, the model needs at least \(needed) s"
        }
    }
}

/// Options that do not fit the model: a usage error.
public enum ClassificationOptionError: Error, CustomStringConvertible, Equatable {
    case unknownLabel(String, suggestions: [String])
    case badWindow(String)

    public var description: String {
        switch self {
        case .unknownLabel(let label, let suggestions):
            "\"\(label)\" is not a label of this model"
                + (suggestions.isEmpty
                    ? "" : "; did you mean " + suggestions.map { "\"\($0)\"" }.joined(separator: ", "))
        case .badWindow(let reason):
            reason
        }
    }
}

/// Wav2Vec2 and HuBERT heads: normalised samples, the whole clip in one pass.
struct Wav2Vec2ClipClassifier: ClipClassifier {
    let model: Wav2Vec2ForSequenceClassification
    let featureExtractor: Wav2Vec2FeatureExtractor

    /// The whole input up to the longest window, in one pass as the pipeline computes it (keyword
    /// spotters take one second at a time instead: see `AudioClassifier.windowSamples`).
    var inputSamples: Int { maximumSamples }
    var minimumSamples: Int { model.config.receptiveField }
    /// The longest window of a CTC model: attention grows with its square.
    var maximumSamples: Int { Int(WindowPlan.maximumWindowSeconds) * featureExtractor.samplingRate }

    func largestActivationBytes(samples: Int) -> Int { model.config.firstConvolutionBytes(samples: samples) }

    func logits(_ samples: [Float]) -> [Float]? { model(featureExtractor.inputValues(samples)) }
}

/// AST: the Kaldi filter bank, cut or padded to the model's frames.
struct ASTClipClassifier: ClipClassifier {
    let model: ASTForAudioClassification
    let featureExtractor: ASTFeatureExtractor
    let filterBank: KaldiFilterBank

    init(model: ASTForAudioClassification, featureExtractor: ASTFeatureExtractor) {
        self.model = model
        self.featureExtractor = featureExtractor
        filterBank = KaldiFilterBank(sampleRate: featureExtractor.samplingRate, melBins: featureExtractor.numMelBins)
    }

    var inputSamples: Int { featureExtractor.inputSamples }
    var minimumSamples: Int { filterBank.frameLength }
    /// More than `max_length` frames would be cut.
    var maximumSamples: Int { featureExtractor.inputSamples }

    /// The attention scores of one block of queries per thread are small; the largest are the
    /// `(tokens, intermediate)` feed-forward activations.
    func largestActivationBytes(samples: Int) -> Int {
        let tokens = model.config.frequencyPatches * model.config.timePatches + 2
        return tokens * model.config.intermediateSize * MemoryLayout<Float>.size * 2
    }

    func logits(_ samples: [Float]) -> [Float]? {
        guard samples.count >= filterBank.frameLength else { return nil }
        return model(featureExtractor.inputValues(samples, filterBank: filterBank))
    }
}
