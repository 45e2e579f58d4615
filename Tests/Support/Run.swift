import Foundation
import TranscribeKit

/// The built `transcribe` binary, run as a user runs it.
package struct Run {
    package let status: Int32
    package let stdout: String
    package let stderr: String

    package static let executable = URL(fileURLWithPath: CommandLine.arguments[0])
        .deletingLastPathComponent().appendingPathComponent("transcribe")

    /// Runs the binary with `arguments`, `stdin` as its standard input (none: /dev/null).
    package init(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil) throws {
        try self.init(executable: Self.executable, arguments, environment: environment, stdin: stdin)
    }

    /// Runs `script` with /bin/sh, `$TRANSCRIBE` naming the binary.
    package static func shell(_ script: String, environment: [String: String] = [:]) throws -> Run {
        try Run(
            executable: URL(fileURLWithPath: "/bin/sh"), ["-c", script],
            environment: environment.merging(["TRANSCRIBE": executable.path]) { $1 }, stdin: nil)
    }

    private init(executable: URL, _ arguments: [String], environment: [String: String], stdin: Data?) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: ModelDirectory.environmentVariable)
        process.environment = env.merging(environment) { $1 }
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            // Written from another thread: the child may fill its stdout pipe before reading all of it.
            let writer = input.fileHandleForWriting
            DispatchQueue.global().async {
                try? writer.write(contentsOf: stdin)
                try? writer.close()
            }
        }
        // Read both pipes before waiting so a full pipe cannot stall the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        status = process.terminationStatus
        stdout = String(decoding: outData, as: UTF8.self)
        stderr = String(decoding: errData, as: UTF8.self)
    }
}
