import Foundation

/// The parts of preprocessor_config.json (`Wav2Vec2FeatureExtractor`) that shape the input,
/// with transformers' defaults when the file or a field is absent.
public struct Wav2Vec2FeatureExtractor: Sendable, Equatable {
    public var samplingRate = 16_000
    public var doNormalize = true
    public var featureSize = 1

    public init() {}

    /// The highest model rate accepted (Hz); speech models take 8 to 48 kHz.
    static let maximumSamplingRate = 1_000_000

    private struct Raw: Decodable {
        var sampling_rate: Int?
        var do_normalize: Bool?
        var feature_size: Int?
    }

    public init(contentsOf path: String) throws {
        try self.init(json: readModelFile(path), path: path)
    }

    /// Validates the preprocessor_config.json text `json`, read from `path` (named in errors).
    init(json: Data, path: String) throws {
        let raw = try decodeJSON(Raw.self, from: json, path: path)
        self.init()
        samplingRate = raw.sampling_rate ?? samplingRate
        doNormalize = raw.do_normalize ?? doNormalize
        featureSize = raw.feature_size ?? featureSize
        guard samplingRate > 0, samplingRate <= Self.maximumSamplingRate else {
            throw ModelError.invalidConfig(
                path: path, field: "sampling_rate",
                reason: "must be 1 to \(Self.maximumSamplingRate) Hz, found \(samplingRate)")
        }
        guard featureSize == 1 else {
            throw ModelError.unsupportedConfig(
                path: path, field: "feature_size", reason: "\(featureSize); raw audio models take 1")
        }
    }

    /// The model's input values for `samples` at `samplingRate`.
    public func inputValues(_ samples: [Float]) -> [Float] {
        doNormalize ? zeroMeanUnitVariance(samples) : samples
    }
}
