import Foundation

/// The model families transcribe runs, named as config.json's `model_type` names them. Adding a
/// family is a case here, a line in `load`, and a folder under Models/.
public enum ModelFamily: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `Wav2Vec2ForCTC`: greedy CTC over per-frame log-probabilities.
    case wav2vec2
    /// `WhisperForConditionalGeneration`: an encoder-decoder that writes text token by token.
    case whisper

    public var description: String { rawValue }

    /// The family of the checkpoint whose config.json is at `configPath`. A config.json without
    /// `model_type` is read as wav2vec2, as old Wav2Vec2 checkpoints were saved without it.
    public init(configAt configPath: String) throws {
        struct Config: Decodable { var model_type: String? }
        let modelType = try decodeJSONFile(Config.self, path: configPath).model_type ?? ModelFamily.wav2vec2.rawValue
        guard let family = ModelFamily(rawValue: modelType) else {
            let known = ModelFamily.allCases.map(\.rawValue).joined(separator: " and ")
            throw ModelError.unsupportedConfig(
                path: configPath, field: "model_type", reason: "\"\(modelType)\"; transcribe runs \(known) checkpoints")
        }
        self = family
    }

    /// Loads the checkpoint in `directory` as this family's recognizer.
    func load(_ directory: ModelDirectory, whisperOptions: WhisperDecodingOptions) throws -> any SpeechRecognizer {
        switch self {
        case .wav2vec2: try Wav2Vec2Recognizer(directory: directory)
        case .whisper: try WhisperRecognizer(directory: directory, options: whisperOptions)
        }
    }
}

/// Loads the model in `directory`, of the family its config.json's `model_type` names.
public func loadRecognizer(
    directory: ModelDirectory, whisperOptions: WhisperDecodingOptions = WhisperDecodingOptions()
) throws -> any SpeechRecognizer {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
    else {
        throw ModelError.missingFile(path: directory.path)
    }
    return try ModelFamily(configAt: directory.file("config.json")).load(directory, whisperOptions: whisperOptions)
}
