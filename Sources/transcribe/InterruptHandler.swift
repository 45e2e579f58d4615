import Foundation
import TranscribeKit

/// Ctrl-C and SIGTERM end the run quietly: a file being written is finished, no other is
/// started (finished outputs stay; none is left half-written), what is on stdout ends with a
/// whole segment, and the process exits with 128 + the signal's number.
enum InterruptHandler {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// `beforeExit` runs first: it lets a write to stdout in progress finish.
    static func install(beforeExit: @escaping @Sendable () -> Void = {}) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                TemporaryFiles.shared.stopWriting()
                beforeExit()
                _exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }
}
