import Foundation
import TranscribeKit

/// One thing to transcribe: a file named by its bytes, or `-` for standard input.
struct Input: Sendable, Equatable {
    let path: BytePath
    /// Why the input cannot be read at all, found before opening it (a list line with a NUL).
    var problem: String? = nil

    static let standardInput = BytePath("-")

    var isStandardInput: Bool { path == Self.standardInput }

    /// The name in messages and in txt and tsv lines: escaped, so always one field of one line.
    var name: String { path.description }

    /// The name in JSON: the name itself where it is UTF-8 (JSON escapes what it must), else
    /// the escaped name.
    var jsonName: String { path.string ?? path.description }

    /// The name output files take: the file name without its extension, "stdin" for `-`.
    var stem: BytePath { isStandardInput ? BytePath("stdin") : path.stem }
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

/// The inputs listed one per line in `source` (`-`: standard input), as bytes: lines end at
/// `\n`, a `\r` before it is dropped (lists written on Windows), empty lines are skipped. A line
/// holding a NUL byte, which no file name can, becomes an input that fails with that reason.
func readFileList(_ source: String) throws -> [Input] {
    let data: Data
    if source == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let contents = fileContents(atPath: source) else {
            throw ValidationMessage("--files-from \(source): cannot read the file")
        }
        data = contents
    }
    var inputs: [Input] = []
    for (number, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
        let name = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
        guard !name.isEmpty else { continue }
        if name.contains(0) {
            inputs.append(
                Input(
                    path: BytePath(bytes: name),
                    problem: "line \(number + 1) of \(source) holds a NUL byte, which no file name can"))
        } else {
            inputs.append(Input(path: BytePath(bytes: name)))
        }
    }
    return inputs
}

/// The command line's arguments as the bytes the shell passed, in order (Swift's
/// `CommandLine.arguments` replaces bytes that are not UTF-8).
func rawArguments() -> [[UInt8]] {
    (1..<Int(CommandLine.argc)).map { index in
        guard let argument = CommandLine.unsafeArgv[index] else { return [] }
        return Array(UnsafeRawBufferPointer(start: argument, count: strlen(argument)))
    }
}

/// `parsed` (the file arguments as the parser saw them, in order) with their own bytes: each is
/// matched to the next raw argument that reads the same.
func withRawBytes(_ parsed: [String], raw: [[UInt8]] = rawArguments()) -> [BytePath] {
    var cursor = 0
    return parsed.map { argument in
        var index = cursor
        while index < raw.count && String(decoding: raw[index], as: UTF8.self) != argument { index += 1 }
        guard index < raw.count else { return BytePath(argument) }
        cursor = index + 1
        return BytePath(bytes: raw[index])
    }
}

/// A usage problem found after parsing (exit status 2).
struct ValidationMessage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
