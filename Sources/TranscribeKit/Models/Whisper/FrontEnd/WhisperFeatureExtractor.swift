import Foundation

/// Log-mel spectrogram exactly as transformers' WhisperFeatureExtractor computes it.
///
/// Ports `WhisperFeatureExtractor.__call__` and `_torch_extract_fbank_features` in
/// transformers/models/whisper/feature_extraction_whisper.py (the path taken when torch is
/// installed; the numpy path differs from it by under 5e-5): pad with zeros or truncate to
/// `nSamples`, power spectrogram (periodic Hann, centred, reflect-padded), Slaney mel filters from
/// 0 to 8 kHz, `log10(max(mel, 1e-10))`, drop the last frame, floor at the window's maximum − 8,
/// then `(x + 4) / 4`. Float32 throughout, like torch; the result matches transformers to ~5e-5.
public struct WhisperFeatureExtractor: Sendable {
    public let featureSize: Int
    public let samplingRate: Int
    public let hopLength: Int
    public let nFFT: Int
    public let chunkLength: Int
    public var nSamples: Int { chunkLength * samplingRate }
    public var nbMaxFrames: Int { nSamples / hopLength }
    /// Log-mel frames per second (100 at 16 kHz with a hop of 160).
    public var framesPerSecond: Int { samplingRate / hopLength }

    private let spectrogram: PowerSpectrogram
    private let melFilters: MelFilterBank

    /// The band the mel filters cover, in Hz (`mel_filter_bank(min_frequency=0.0, max_frequency=8000.0)`).
    static let minFrequency = 0.0
    static let maxFrequency = 8000.0
    /// `torch.clamp(mel_spec, min=1e-10)` before the log.
    static let melFloor: Float = 1e-10
    /// Log-mel values more than 8 (decades of power) below the window's maximum are raised to it.
    static let dynamicRange: Float = 8

    public init(
        featureSize: Int = 80, samplingRate: Int = 16000, hopLength: Int = 160, nFFT: Int = 400, chunkLength: Int = 30
    ) {
        precondition(
            featureSize > 0 && samplingRate > 0 && hopLength > 0 && chunkLength > 0 && nFFT >= 2,
            "WhisperFeatureExtractor: sizes must be positive and nFFT at least 2")
        precondition(
            chunkLength * samplingRate > nFFT / 2,
            "WhisperFeatureExtractor: a window must hold more than nFFT / 2 samples")
        self.featureSize = featureSize
        self.samplingRate = samplingRate
        self.hopLength = hopLength
        self.nFFT = nFFT
        self.chunkLength = chunkLength
        spectrogram = PowerSpectrogram(nFFT: nFFT, hopLength: hopLength)
        melFilters = MelFilterBank(
            frequencyBins: spectrogram.frequencyBins, melBins: featureSize,
            minFrequency: Self.minFrequency, maxFrequency: Self.maxFrequency, samplingRate: samplingRate)
    }

    private struct Raw: Decodable {
        var feature_extractor_type: String?
        var feature_size: Int?
        var sampling_rate: Int?
        var hop_length: Int?
        var n_fft: Int?
        var chunk_length: Int?
        var padding_value: Double?
        var dither: Double?
    }

    /// Reads preprocessor_config.json, with transformers' defaults for absent fields.
    public init(contentsOf path: String) throws {
        let raw = try decodeJSONFile(Raw.self, path: path)
        if let type = raw.feature_extractor_type, type != "WhisperFeatureExtractor" {
            throw ModelError.unsupportedConfig(
                path: path, field: "feature_extractor_type", reason: "\(type); expected WhisperFeatureExtractor")
        }
        func positive(_ value: Int?, _ field: String, default fallback: Int, minimum: Int = 1, maximum: Int = .max)
            throws -> Int
        {
            let value = value ?? fallback
            guard value >= minimum, value <= maximum else {
                let range = maximum == .max ? "at least \(minimum)" : "\(minimum) to \(maximum)"
                throw ModelError.invalidConfig(path: path, field: field, reason: "must be \(range), found \(value)")
            }
            return value
        }
        // Bounds far above Whisper's 80 or 128 mel bins and 400-point FFT, so that a config cannot
        // size the filter bank or the DFT basis beyond memory: the basis is (n_fft + 2) x n_fft
        // floats, 67 MB at 4096 (an n_fft of 59,999 asked for 14 GB; of 10^9, for more).
        let featureSize = try positive(raw.feature_size, "feature_size", default: 80, maximum: 4096)
        let samplingRate = try positive(raw.sampling_rate, "sampling_rate", default: 16000)
        let hopLength = try positive(raw.hop_length, "hop_length", default: 160)
        let nFFT = try positive(raw.n_fft, "n_fft", default: 400, minimum: 2, maximum: 4096)
        let chunkLength = try positive(raw.chunk_length, "chunk_length", default: 30)
        let (samples, overflow) = chunkLength.multipliedReportingOverflow(by: samplingRate)
        guard !overflow, samples <= Int(Int32.max), samples > nFFT / 2 else {
            throw ModelError.invalidConfig(
                path: path, field: "chunk_length",
                reason:
                    "\(chunkLength) s at \(samplingRate) Hz must hold more than n_fft / 2 and at most 2^31 - 1 samples")
        }
        guard hopLength <= samples else {
            throw ModelError.invalidConfig(
                path: path, field: "hop_length",
                reason:
                    "\(hopLength) is longer than the \(chunkLength) s window (\(samples) samples): it would have no frames"
            )
        }
        if let padding = raw.padding_value, padding != 0 {
            throw ModelError.unsupportedConfig(
                path: path, field: "padding_value", reason: "\(padding); Whisper pads with 0")
        }
        if let dither = raw.dither, dither != 0 {
            throw ModelError.unsupportedConfig(
                path: path, field: "dither", reason: "\(dither); no noise is added, only 0 is supported")
        }
        self.init(
            featureSize: featureSize, samplingRate: samplingRate, hopLength: hopLength, nFFT: nFFT,
            chunkLength: chunkLength)
    }

    /// `(nbMaxFrames, featureSize)` TIME-MAJOR log-mel of `samples` (16 kHz mono) padded with zeros
    /// or truncated to nSamples, as WhisperFeatureExtractor(samples, sampling_rate=16000,
    /// return_tensors="np") gives (transposed to time-major). Samples beyond `nSamples` are dropped
    /// before the STFT, so the last frames mirror the window's own end, not what follows it.
    public func callAsFunction(_ samples: [Float]) -> Matrix {
        // (nSamples,)
        var window = [Float](repeating: 0, count: nSamples)
        let kept = min(samples.count, nSamples)
        window.replaceSubrange(0..<kept, with: samples[0..<kept])
        return logMel(window)
    }

    /// `(samples.count / hopLength, featureSize)` time-major log-mel of all of `samples`, with
    /// neither padding nor truncation: what WhisperFeatureExtractor gives for a long-form input
    /// (`truncation=False, padding="longest"`). The floor `max - 8` is taken over the whole input.
    /// The spectrogram is computed `nbMaxFrames` frames at a time (fewer when frames are so long
    /// that a block would pass 16 MB), so only the log-mel is held whole.
    public func logMel(_ samples: [Float]) -> Matrix {
        guard samples.count > nFFT / 2 else { return Matrix(zeros: 0, featureSize) }
        // The spectrogram has one frame more than the log-mel: the last is dropped.
        let frames = spectrogram.frameCount(samples.count) - 1
        var logMel = Matrix(zeros: frames, featureSize)
        var maximum = -Float.infinity
        let blockFrames = max(1, min(nbMaxFrames, (1 << 22) / nFFT))
        for first in stride(from: 0, to: frames, by: blockFrames) {
            let block = first..<min(frames, first + blockFrames)
            // (block, 1 + nFFT / 2) -> (block, featureSize)
            let mel = melFilters(spectrogram(samples, frames: block))
            for (offset, value) in mel.data.enumerated() {
                let logValue = log10(max(value, Self.melFloor))
                logMel.data[block.lowerBound * featureSize + offset] = logValue
                maximum = max(maximum, logValue)
            }
        }
        let floor = maximum - Self.dynamicRange
        logMel.data.withUnsafeMutableBufferPointer { values in
            for i in 0..<values.count { values[i] = (max(values[i], floor) + 4) / 4 }
        }
        return logMel
    }
}
