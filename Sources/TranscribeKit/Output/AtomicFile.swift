import Foundation

/// Writes `data` to `path` through a temporary file in the same directory and a rename, so
/// `path` holds either its old content or the whole new one, never a part. Writes go one at a
/// time through `TemporaryFiles.shared`, which an interrupt handler locks for good before the
/// process exits: no temporary file is then being written, nor will one be.
public func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(
            ".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UUID().uuidString.prefix(8)).tmp")
    try TemporaryFiles.shared.write {
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw CocoaError(
                    .fileWriteUnknown,
                    userInfo: [
                        NSFilePathErrorKey: path,
                        NSLocalizedDescriptionKey: "\(path): \(String(cString: strerror(errno)))",
                    ])
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

/// Deletes the temporary files `writeAtomically` left in `directory` when a process writing them
/// was killed outright (SIGKILL, power loss): `.<name>.<pid>.<id>.tmp` whose process is gone.
/// Returns how many were removed.
@discardableResult
public func removeStaleTemporaryFiles(in directory: String) -> Int {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
    var removed = 0
    for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
        let parts = name.dropLast(4).split(separator: ".")
        guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]), parts[parts.count - 1].count == 8 else {
            continue
        }
        if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
            if unlink(directory + "/" + name) == 0 { removed += 1 }
        }
    }
    return removed
}
