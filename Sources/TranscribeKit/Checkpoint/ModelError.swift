/// Everything that can be wrong with a model directory, each naming the file and the key or field.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case notFound(searched: [String])
    case missingFile(path: String)
    case onlyPyTorchWeights(directory: String)
    case malformedJSON(path: String, reason: String)
    case invalidConfig(path: String, field: String, reason: String)
    case unsupportedConfig(path: String, field: String, reason: String)
    case malformedSafetensors(path: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case missingTensor(path: String, tensor: String)
    case unexpectedTensor(path: String, tensor: String)
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
    case vocabularyMismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let searched):
            return "no model found (looked in \(searched.joined(separator: ", "))); "
                + "run scripts/setup.sh (or scripts/install-whisper-tiny-en.sh), or pass --model DIR with a "
                + "Hugging Face Wav2Vec2ForCTC or WhisperForConditionalGeneration directory"
        case .missingFile(let path):
            return "\(path): missing"
        case .onlyPyTorchWeights(let directory):
            return "\(directory): has pytorch_model.bin but no model.safetensors; convert it with "
                + "`python3 scripts/convert-to-safetensors.py \(directory)`"
        case .malformedJSON(let path, let reason):
            return "\(path): not valid JSON: \(reason)"
        case .invalidConfig(let path, let field, let reason):
            return "\(path): field \"\(field)\": \(reason)"
        case .unsupportedConfig(let path, let field, let reason):
            return "\(path): field \"\(field)\" is not supported: \(reason)"
        case .malformedSafetensors(let path, let reason):
            return "\(path): not a valid safetensors file: \(reason)"
        case .unsupportedDType(let path, let tensor, let dtype):
            return "\(path): tensor \"\(tensor)\" has dtype \(dtype); transcribe reads F32, F16, BF16 and F64"
        case .missingTensor(let path, let tensor):
            return "\(path): missing tensor \"\(tensor)\""
        case .unexpectedTensor(let path, let tensor):
            return "\(path): unexpected tensor \"\(tensor)\" (not part of the model)"
        case .shapeMismatch(let path, let tensor, let expected, let found):
            return "\(path): tensor \"\(tensor)\" has shape \(found), expected \(expected)"
        case .vocabularyMismatch(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
