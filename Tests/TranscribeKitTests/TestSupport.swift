import Foundation
import Testing

@testable import TranscribeKit

/// Files the tests read: Tests/Fixtures (made by scripts/make-fixtures.py and
/// scripts/make-audio-fixtures.sh) and the real recordings in ../shared/samples.
enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TranscribeKitTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static let root = packageRoot.appendingPathComponent("Tests/Fixtures")
    static let models = root.appendingPathComponent("models")
    static let speech = root.appendingPathComponent("speech")

    /// The tiny checkpoints, by directory name.
    static let modelNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: models.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: models.path + "/\($0)/config.json") }.sorted()
    }()

    /// The speech clips, by file stem.
    static let clipNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: speech.path)) ?? []
        return names.filter { $0.hasSuffix(".wav") }.map { String($0.dropLast(4)) }.sorted()
    }()

    static func model(_ name: String) -> ModelDirectory { ModelDirectory(path: models.path + "/" + name) }
    /// A tiny random Whisper checkpoint made by scripts/make-whisper-fixtures.py.
    static func whisperModel(_ name: String) -> URL { root.appendingPathComponent("whisper/models/\(name)") }
    static func clip(_ name: String) -> String { speech.path + "/\(name).wav" }

    /// ../shared/samples beside the checkout, if present.
    static let sharedSamples = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/samples")
}

/// A fresh directory under the system's temporary directory, removed when `body` returns.
@discardableResult
/// The read end of a pipe that holds `bytes` (at most 64 KiB, the pipe's buffer) from a writer
/// already gone; the caller closes it.
func pipeHolding(_ bytes: Data) throws -> Int32 {
    var ends: [Int32] = [-1, -1]
    try #require(pipe(&ends) == 0)
    let handle = FileHandle(fileDescriptor: ends[1], closeOnDealloc: true)
    try handle.write(contentsOf: bytes)
    try handle.close()
    return ends[0]
}

/// Runs `body` with the read end of a pipe that `write` fills from a thread of its own (the
/// handle is closed after it returns). Whatever `body` did, the pipe is drained so that the
/// writer finishes before the read end is closed.
@discardableResult
func withPipe<T>(writtenBy write: @escaping @Sendable (FileHandle) -> Void, _ body: (Int32) throws -> T) throws -> T {
    var ends: [Int32] = [-1, -1]
    try #require(pipe(&ends) == 0)
    let (readEnd, writeEnd) = (ends[0], ends[1])
    let writer = Thread {
        let handle = FileHandle(fileDescriptor: writeEnd, closeOnDealloc: true)
        write(handle)
        try? handle.close()
    }
    writer.start()
    defer {
        var sink = [UInt8](repeating: 0, count: 1 << 16)
        while sink.withUnsafeMutableBytes({ read(readEnd, $0.baseAddress, $0.count) }) > 0 {}
        close(readEnd)
    }
    return try body(readEnd)
}

@discardableResult
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("transcribe-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Copies a fixture model to `directory/name` so a test can break it.
func copyOfModel(_ name: String, in directory: URL) throws -> URL {
    let copy = directory.appendingPathComponent(name)
    try FileManager.default.copyItem(at: Fixtures.models.appendingPathComponent(name), to: copy)
    return copy
}
