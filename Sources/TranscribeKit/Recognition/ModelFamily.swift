import Foundation

/// The model families transcribe runs, named as config.json's `model_type` names them. Adding a
/// family is a case here, a line in `load`, and a folder under Models/.
public enum ModelFamily: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `Wav2Vec2ForCTC`: greedy CTC over per-frame log-probabilities.
    case wav2vec2
    /// `WhisperForConditionalGeneration`: an encoder-decoder that writes text token by token.
    case whisper
    /// `Wav2Vec2ForSequenceClassification`, `HubertForSequenceClassification` (keyword spotting)
    /// and `ASTForAudioClassification` (sound tagging): labels and scores, named as transformers'
    /// pipeline task.
    case audioClassification = "audio-classification"

    public var description: String { rawValue }

    /// The family of the checkpoint whose config.json is at `configPath`: an audio classifier
    /// where `architectures` names one, else the family `model_type` names. A config.json without
    /// `model_type` is read as wav2vec2, as old Wav2Vec2 checkpoints were saved without it.
    public init(configAt configPath: String) throws {
        self = try Self.read(configAt: configPath).family
    }

    /// The family, and the architecture config.json names (its first `architectures` entry).
    static func read(configAt configPath: String) throws -> (family: ModelFamily, architecture: String?) {
        struct Config: Decodable {
            var model_type: String?
            var architectures: [String]?
        }
        let config = try decodeJSONFile(Config.self, path: configPath)
        if let classifier = config.architectures?.first(where: AudioClassifier.architectures.contains) {
            return (.audioClassification, classifier)
        }
        // Heads this tool does not run, which would otherwise be read as transcription models.
        let heads = [
            "ForAudioClassification", "ForSequenceClassification", "ForAudioFrameClassification", "ForXVector",
        ]
        if let other = config.architectures?.first(where: { name in heads.contains { name.hasSuffix($0) } }) {
            throw ModelError.unsupportedConfig(
                path: configPath, field: "architectures",
                reason: "\(other); transcribe runs the audio classifiers "
                    + AudioClassifier.architectures.joined(separator: ", "))
        }
        let modelType = config.model_type ?? ModelFamily.wav2vec2.rawValue
        switch modelType {
        case ModelFamily.wav2vec2.rawValue: return (.wav2vec2, config.architectures?.first)
        case ModelFamily.whisper.rawValue: return (.whisper, config.architectures?.first)
        case "audio-spectrogram-transformer": return (.audioClassification, "ASTForAudioClassification")
        default:
            throw ModelError.unsupportedConfig(
                path: configPath, field: "model_type",
                reason:
                    "\"\(modelType)\"; transcribe runs wav2vec2 and whisper checkpoints, and the audio classifiers "
                    + AudioClassifier.architectures.joined(separator: ", "))
        }
    }
}

/// What the loaded model is asked to do, per family.
public struct ModelOptions: Sendable {
    public var whisper = WhisperDecodingOptions()
    public var classification = ClassificationOptions()

    public init() {}
}

/// Loads the model in `directory`, of the family its config.json names.
public func loadRecognizer(directory: ModelDirectory, options: ModelOptions = ModelOptions()) throws
    -> any SpeechRecognizer
{
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
    else {
        throw ModelError.missingFile(path: directory.path)
    }
    let (family, architecture) = try ModelFamily.read(configAt: directory.file("config.json"))
    switch family {
    case .wav2vec2: return try Wav2Vec2Recognizer(directory: directory)
    case .whisper: return try WhisperRecognizer(directory: directory, options: options.whisper)
    case .audioClassification:
        return try AudioClassifier(
            directory: directory, architecture: architecture ?? "ASTForAudioClassification",
            options: options.classification)
    }
}
