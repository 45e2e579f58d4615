/// Why an audio file could not be turned into samples; each case names the file.
public enum AudioError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is missing, a directory, empty, or in a format libsndfile does not read.
    case cannotOpen(path: String, reason: String)
    /// The header describes audio we cannot use (no channels, a non-positive sample rate).
    case unsupportedLayout(path: String, reason: String)
    /// Decoding stopped with an error part-way through the file.
    case readFailed(path: String, reason: String)
    /// The decoded samples could not be converted to the requested rate (Hz).
    case cannotResample(path: String, from: Int, to: Int, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open audio file '\(path)': \(reason)"
        case .unsupportedLayout(let path, let reason):
            "unsupported audio layout in '\(path)': \(reason)"
        case .readFailed(let path, let reason):
            "cannot read audio from '\(path)': \(reason)"
        case .cannotResample(let path, let from, let to, let reason):
            "cannot resample '\(path)' from \(from) Hz to \(to) Hz: \(reason)"
        }
    }

    /// The reason alone, for a message that names the file already: `transcribe: FILE: reason`.
    public var reason: String {
        switch self {
        case .cannotOpen(_, let reason): "cannot open: \(reason)"
        case .unsupportedLayout(_, let reason): "unsupported audio layout: \(reason)"
        case .readFailed(_, let reason): "cannot read audio: \(reason)"
        case .cannotResample(_, let from, let to, let reason): "cannot resample from \(from) Hz to \(to) Hz: \(reason)"
        }
    }
}
