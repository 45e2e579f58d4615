import Foundation

/// Writes `data` to `path` through a temporary file in the same directory and a rename, so
/// `path` holds either its old content or the whole new one, never a part. Writes go one at a
/// time through `TemporaryFiles.shared`, which an interrupt handler locks for good before the
/// process exits: no temporary file is then being written, nor will one be.
public func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UUID().uuidString.prefix(8)).tmp")
    try TemporaryFiles.shared.write {
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                    NSLocalizedDescriptionKey: "\(path): \(String(cString: strerror(errno)))"])
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
    }
}

/// The lock every atomic write holds from creating its temporary file to renaming it.
public final class TemporaryFiles: @unchecked Sendable {
    public static let shared = TemporaryFiles()
    private let lock = NSLock()

    func write(_ body: () throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        try body()
    }

    /// Waits for a write in progress to finish and keeps every later one from starting; for a
    /// signal handler about to exit the process.
    public func stopWriting() {
        lock.lock()
    }
}
