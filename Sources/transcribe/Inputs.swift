import Foundation
import TranscribeKit

/// One thing to transcribe: a file, or `-` for standard input.
struct Input: Sendable, Equatable {
    let argument: String

    static let standardInput = "-"

    var isStandardInput: Bool { argument == Self.standardInput }

    /// The name output files take: the file name without its extension, "stdin" for `-`.
    var stem: String {
        isStandardInput ? "stdin" : URL(fileURLWithPath: argument).deletingPathExtension().lastPathComponent
    }
}

/// `--shard K/N`: every N-th input starting at the K-th (0-based), so that N machines given the
/// same list cover it exactly once between them.
struct Shard: Sendable, Equatable {
    let index: Int
    let count: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]),
            count > 0, index >= 0, index < count
        else { return nil }
        self.index = index
        self.count = count
    }

    func select<T>(_ items: [T]) -> [T] {
        items.enumerated().filter { $0.offset % count == index }.map(\.element)
    }
}

/// The paths listed one per line in `source` (`-`: standard input); empty lines are skipped.
func readFileList(_ source: String) throws -> [String] {
    let data: Data
    if source == Input.standardInput {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let contents = fileContents(atPath: source) else {
            throw ValidationMessage("--files-from \(source): cannot read the file")
        }
        data = contents
    }
    return String(decoding: data, as: UTF8.self)
        .split(separator: "\n", omittingEmptySubsequences: true)
        .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        .filter { !$0.isEmpty }
}

/// A usage problem found after parsing (exit status 2).
struct ValidationMessage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
