import Foundation

/// An output that could not be written: which file, and the system's reason in its words.
public struct OutputError: Error, CustomStringConvertible, Equatable {
    public let path: BytePath
    public let reason: String
    /// The `errno` behind it; 0 when the tool itself refused.
    public let code: Int32

    public init(path: BytePath, code: Int32) {
        self.init(path: path, reason: String(cString: strerror(code)), code: code)
    }

    public init(path: BytePath, reason: String, code: Int32 = 0) {
        self.path = path
        self.reason = reason
        self.code = code
    }

    public var description: String { "cannot write \(path): \(reason)" }

    /// Whether nothing more can be written where this failed (a full disk or quota, a read-only
    /// or failing file system): a batch then stops rather than transcribe what it cannot keep.
    public var endsTheRun: Bool { [ENOSPC, EDQUOT, EROFS, EIO].contains(code) }
}

/// Writes `data` to `path` through a temporary file in the same folder and a rename, so `path`
/// holds either what it held or the whole new content, never a part. Every system call is
/// checked, `close` included. A file in `inputs` (by device and inode, so under any name) is
/// never replaced, nor is a folder. Writes go one at a time through `TemporaryFiles.shared`,
/// which an interrupt handler locks for good before the process exits: no temporary file is
/// then being written, nor will one be.
public func writeAtomically(_ data: Data, to path: BytePath, protecting inputs: Set<FileIdentity> = [])
    throws(OutputError)
{
    var existing = stat()
    if path.withCString({ lstat($0, &existing) }) == 0 {
        if existing.st_mode & S_IFMT == S_IFDIR { throw OutputError(path: path, code: EISDIR) }
        if inputs.contains(FileIdentity(existing)) {
            throw OutputError(path: path, reason: "it is one of the inputs, which are never overwritten")
        }
    }
    let temporary = path.directory.appending(TemporaryFiles.name(for: path.lastComponent))
    try TemporaryFiles.shared.write { () throws(OutputError) in
        let descriptor = temporary.withCString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666) }
        guard descriptor >= 0 else { throw OutputError(path: path, code: errno) }
        func fail(_ code: Int32) -> OutputError {
            _ = temporary.withCString { unlink($0) }
            return OutputError(path: path, code: code)
        }
        let written = data.withUnsafeBytes { writeAll(descriptor, $0) }
        if written != 0 {
            close(descriptor)
            throw fail(written)
        }
        guard close(descriptor) == 0 else { throw fail(errno) }
        let renamed = temporary.withCString { from in path.withCString { to in rename(from, to) } }
        guard renamed == 0 else { throw fail(errno) }
    }
}

/// Writes all of `bytes` to `descriptor`, retrying short writes and interruptions; returns 0, or
/// the `errno` of the write that failed.
public func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
    var offset = 0
    while offset < bytes.count {
        let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            return errno
        }
        offset += written
    }
    return 0
}

/// The temporary files of atomic writes: their names, the lock around writing them, and the
/// clean-up of those a killed process left behind.
///
/// A temporary file is `.<name>.<pid>@<host>@<pid namespace>.<8 hex>.tmp` beside its target, so
/// runs on several machines (or in several containers) writing into one shared folder tell
/// their files apart: a run removes another's only when it is provably stale, never while it
/// may still be written.
public final class TemporaryFiles: @unchecked Sendable {
    public static let shared = TemporaryFiles()
    private let lock = NSLock()

    func write(_ body: () throws(OutputError) -> Void) throws(OutputError) {
        lock.lock()
        defer { lock.unlock() }
        try body()
    }

    /// Waits for a write in progress to finish and keeps every later one from starting; for a
    /// signal handler about to exit the process.
    public func stopWriting() {
        lock.lock()
    }

    /// The longest file name the file systems this runs on take.
    static let nameMax = 255
    /// Writing one file takes milliseconds: a temporary file untouched this long is left over
    /// from a run that was killed, whichever machine it ran on.
    public static let staleAge: TimeInterval = 24 * 3600

    /// This process: `<pid>@<host>@<pid namespace>`, with only letters, digits and `-` in the
    /// host name.
    static let owner: String = {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(cString: name) : "localhost"
        let safeHost = String(host.prefix(64).map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        return "\(getpid())@\(safeHost)@\(pidNamespace)"
    }()

    /// The inode of this process's PID namespace (`/proc/self/ns/pid` reads `pid:[4026531836]`),
    /// or 0 where there is no such file.
    static let pidNamespace: UInt64 = {
        var status = stat()
        return stat("/proc/self/ns/pid", &status) == 0 ? UInt64(status.st_ino) : 0
    }()

    /// The temporary name for `target`, which fits in `nameMax` bytes whenever `target` does:
    /// the target's part is cut short as needed.
    static func name(for target: BytePath) -> BytePath {
        let suffix = Array(".\(owner).\(String(UInt32.random(in: 0...UInt32.max), radix: 16).leftPadded8).tmp".utf8)
        let room = max(0, nameMax - 1 - suffix.count)
        return BytePath(bytes: [UInt8(ascii: ".")] + target.bytes.prefix(room) + suffix)
    }
}

extension String {
    fileprivate var leftPadded8: String { String(repeating: "0", count: max(0, 8 - count)) + self }
}

/// Deletes the temporary files that atomic writes left in `directory` when the process writing
/// them was killed outright (SIGKILL, power loss): those of this machine and PID namespace whose
/// process is gone, and any left untouched for `TemporaryFiles.staleAge`. Files of other
/// machines' live runs are left alone. Returns how many were removed.
@discardableResult
public func removeStaleTemporaryFiles(in directory: BytePath, now: Date = Date()) -> Int {
    guard let folder = directory.withCString({ opendir($0) }) else { return 0 }
    defer { closedir(folder) }
    let this = TemporaryFiles.owner.split(separator: "@", omittingEmptySubsequences: false)
    var removed = 0
    while let entry = readdir(folder) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            Array(raw.prefix { $0 != 0 })
        }
        guard name.first == UInt8(ascii: "."), name.count > 5, name.suffix(4).elementsEqual(".tmp".utf8) else {
            continue
        }
        let parts = name.dropLast(4).split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[parts.count - 1].count == 8,
            let owner = String(validating: parts[parts.count - 2], as: UTF8.self)
        else { continue }
        let path = directory.appending(BytePath(bytes: name))
        var status = stat()
        guard path.withCString({ lstat($0, &status) }) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
        let age = now.timeIntervalSince1970 - Double(status.st_mtim.tv_sec)
        let fields = owner.split(separator: "@", omittingEmptySubsequences: false)
        let ownerIsGone: Bool
        if fields.count == 3, fields[1] == this[1], fields[2] == this[2], let pid = Int32(fields[0]) {
            ownerIsGone = pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
        } else if fields.count == 1, let pid = Int32(fields[0]) {
            // `.<name>.<pid>.<id>.tmp`, as earlier versions named them: of this machine.
            ownerIsGone = pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
        } else {
            ownerIsGone = false
        }
        if ownerIsGone || age > TemporaryFiles.staleAge {
            if path.withCString({ unlink($0) }) == 0 { removed += 1 }
        }
    }
    return removed
}
