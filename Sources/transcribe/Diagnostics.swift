import Foundation

/// The tool's own stderr. Decoders inside libsndfile (mpg123 above all) print notes of their own
/// to file descriptor 2 ("Note: Illegal Audio-MPEG-Header ..."); once `claim()` has run, those go
/// to /dev/null and only the tool's lines, through here, reach the user's stderr.
enum Diagnostics {
    nonisolated(unsafe) private static var descriptor = STDERR_FILENO

    /// Keeps the real stderr for the tool and points descriptor 2 at /dev/null.
    static func claim() {
        let saved = dup(STDERR_FILENO)
        let null = open("/dev/null", O_WRONLY)
        guard saved >= 0, null >= 0 else { return }
        dup2(null, STDERR_FILENO)
        close(null)
        descriptor = saved
    }

    static var isTerminal: Bool { isatty(descriptor) == 1 }

    /// Puts /dev/null on standard input, output or error where the caller closed one (`>&-`), so
    /// that no file opened later takes descriptor 0, 1 or 2 (results would then land in it, or
    /// its bytes be read as audio). Standard output gets it read-only: writing results then fails
    /// with "Bad file descriptor", as it should, instead of vanishing.
    static func occupyClosedStandardStreams() {
        for (stream, mode) in [(STDIN_FILENO, O_RDONLY), (STDOUT_FILENO, O_RDONLY), (STDERR_FILENO, O_WRONLY)]
        where fcntl(stream, F_GETFD) == -1 && errno == EBADF {
            let null = open("/dev/null", mode)
            if null >= 0 && null != stream {
                dup2(null, stream)
                close(null)
            }
        }
    }

    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes {
                Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset)
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
