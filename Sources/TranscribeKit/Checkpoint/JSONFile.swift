import Foundation

/// Decodes a JSON file into `T`, turning every failure into a `ModelError` that names the file
/// and, for a wrong value, the field.
func decodeJSONFile<T: Decodable>(_ type: T.Type, path: String) throws -> T {
    try decodeJSON(T.self, from: readModelFile(path), path: path)
}

/// The bytes of a model file; a missing or unreadable file is `ModelError.missingFile`.
func readModelFile(_ path: String) throws -> Data {
    guard let data = fileContents(atPath: path) else {
        throw ModelError.missingFile(path: path)
    }
    return data
}

/// `FileManager.contents(atPath:)`, except that an empty file is read without it: Foundation
/// (swift 6.3) leaks a 4 KiB buffer for each empty file it reads (found with FuzzWhisperConfig).
public func fileContents(atPath path: String) -> Data? {
    var status = stat()
    if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size == 0, access(path, R_OK) == 0 {
        return Data()
    }
    return FileManager.default.contents(atPath: path)
}

/// Decodes JSON `data` read from `path` (named in errors) into `T`.
func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let DecodingError.typeMismatch(expected, context) {
        throw ModelError.invalidConfig(path: path, field: fieldName(context), reason: "expected \(typeName(expected))")
    } catch let DecodingError.valueNotFound(expected, context) {
        throw ModelError.invalidConfig(
            path: path, field: fieldName(context), reason: "expected \(typeName(expected)), found null")
    } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
        throw ModelError.invalidConfig(path: path, field: fieldName(context), reason: context.debugDescription)
    } catch {
        throw ModelError.malformedJSON(path: path, reason: jsonReason(error))
    }
}

private func fieldName(_ context: DecodingError.Context) -> String {
    context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
}

private func typeName(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type, is [Int].Type: return "an integer"
    case is Double.Type, is Float.Type: return "a number"
    case is String.Type: return "a string"
    case is Bool.Type: return "true or false"
    default: return "\(type)"
    }
}

private func jsonReason(_ error: Error) -> String {
    if case DecodingError.dataCorrupted(let context) = error {
        if let underlying = context.underlyingError as NSError? {
            return underlying.userInfo[NSDebugDescriptionErrorKey] as? String ?? underlying.localizedDescription
        }
        return context.debugDescription
    }
    return "\(error)"
}

/// A token in tokenizer_config.json: a plain string, or an AddedToken object `{"content": ...}`.
struct TokenSpelling: Decodable {
    let content: String

    init(from decoder: Decoder) throws {
        if let plain = try? decoder.singleValueContainer().decode(String.self) {
            content = plain
            return
        }
        struct Added: Decodable { let content: String }
        content = try Added(from: decoder).content
    }
}
