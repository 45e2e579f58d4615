import Foundation

/// A fresh directory under the system's temporary directory, removed when `body` returns.
@discardableResult
package func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("transcribe-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Copies a fixture Wav2Vec2 model to `directory/name` so a test can break it.
package func copyOfModel(_ name: String, in directory: URL) throws -> URL {
    let copy = directory.appendingPathComponent(name)
    try FileManager.default.copyItem(at: Fixtures.models.appendingPathComponent(name), to: copy)
    return copy
}

/// The two ends of a new pipe.
private func newPipe() throws -> (read: Int32, write: Int32) {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { throw TestFailure("pipe: \(String(cString: strerror(errno)))") }
    return (ends[0], ends[1])
}

/// The read end of a pipe that holds `bytes` (at most 64 KiB, the pipe's buffer) from a writer
/// already gone; the caller closes it.
package func pipeHolding(_ bytes: Data) throws -> Int32 {
    let ends = try newPipe()
    let handle = FileHandle(fileDescriptor: ends.write, closeOnDealloc: true)
    try handle.write(contentsOf: bytes)
    try handle.close()
    return ends.read
}

/// Runs `body` with the read end of a pipe that `write` fills from a thread of its own (the
/// handle is closed after it returns). Whatever `body` did, the pipe is drained so that the
/// writer finishes before the read end is closed.
@discardableResult
package func withPipe<T>(writtenBy write: @escaping @Sendable (FileHandle) -> Void, _ body: (Int32) throws -> T) throws
    -> T
{
    let (readEnd, writeEnd) = try newPipe()
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

/// Word-level Levenshtein distance: substitutions, deletions and insertions.
package func editDistance(_ a: [String], _ b: [String]) -> Int {
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
        var current = [i + 1] + [Int](repeating: 0, count: b.count)
        for (j, y) in b.enumerated() {
            current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
