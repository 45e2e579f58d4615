import Foundation
import TranscribeKit

/// Files the tests read: Tests/Fixtures (made by the scripts in scripts/fixtures/) and the real
/// recordings in ../shared/samples.
package enum Fixtures {
    package static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    package static let root = packageRoot.appendingPathComponent("Tests/Fixtures")
    /// The tiny Wav2Vec2ForCTC checkpoints (scripts/fixtures/make-wav2vec2-fixtures.py).
    package static let models = root.appendingPathComponent("wav2vec2/models")
    /// Speech clips both families' fixtures are made from.
    package static let speech = root.appendingPathComponent("speech")

    /// The tiny Wav2Vec2 checkpoints, by directory name.
    package static let modelNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: models.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: models.path + "/\($0)/config.json") }.sorted()
    }()

    /// The speech clips, by file stem.
    package static let clipNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: speech.path)) ?? []
        return names.filter { $0.hasSuffix(".wav") }.map { String($0.dropLast(4)) }.sorted()
    }()

    package static func model(_ name: String) -> ModelDirectory { ModelDirectory(path: models.path + "/" + name) }
    /// A tiny random Whisper checkpoint (scripts/fixtures/make-whisper-fixtures.py).
    package static func whisperModel(_ name: String) -> URL { root.appendingPathComponent("whisper/models/\(name)") }
    package static func clip(_ name: String) -> String { speech.path + "/\(name).wav" }

    /// Whisper tiny.en with real weights, as scripts/install-whisper-tiny-en.sh installs it.
    package static let whisperTinyEn = packageRoot.appendingPathComponent("Models/whisper-tiny.en").path

    /// ../shared/samples beside the checkout, if present.
    package static let sharedSamples = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/samples")
}

/// What the machine running the tests has. Under CI (`CI=true`, as `.ci/run` runs) every test
/// runs: one that needs a tool or file the machine lacks fails there instead of being skipped, so
/// a green CI means every test ran. Elsewhere such a test is skipped and says why.
package enum TestEnvironment {
    package static let isCI =
        ProcessInfo.processInfo.environment["CI"].map { ["true", "1"].contains($0.lowercased()) } ?? false

    /// Whether a test that needs something the machine may lack runs: always under CI.
    package static func runs(needing available: Bool) -> Bool { available || isCI }

    /// Whether `name` is an executable on the PATH.
    package static func hasTool(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }

    /// Throws, naming what to install, when `name` is not on the PATH (under CI, where the test ran anyway).
    package static func requireTool(_ name: String, package debianPackage: String) throws {
        guard hasTool(name) else {
            throw TestFailure(
                "\(name) is not installed: scripts/test.sh installs it (apt-get install \(debianPackage))")
        }
    }

    /// Throws when ../shared/samples is absent (under CI, where the test ran anyway).
    package static func requireSharedSamples() throws {
        guard SharedSamples.available else {
            throw TestFailure(
                "\(Fixtures.sharedSamples.path) is absent: the real-recording tests need it beside the checkout")
        }
    }
}

/// The real recordings of ../shared/samples, as its transcripts.tsv lists them.
package enum SharedSamples {
    package struct Row: Sendable, CustomStringConvertible {
        package let path: String
        package let seconds: Double
        package let sampleRate: Int
        package let channels: Int
        package var description: String { URL(fileURLWithPath: path).lastPathComponent }
    }

    package static var available: Bool { !rows.isEmpty }

    /// transcripts.tsv: file, seconds, sample_rate, channels, format, reference_transcript, ...
    package static let rows: [Row] = {
        let table = Fixtures.sharedSamples.appendingPathComponent("transcripts.tsv")
        guard let text = try? String(contentsOf: table, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 4, let seconds = Double(fields[1]), let rate = Int(fields[2]),
                let channels = Int(fields[3])
            else { return nil }
            return Row(
                path: Fixtures.sharedSamples.appendingPathComponent(fields[0]).path,
                seconds: seconds, sampleRate: rate, channels: channels)
        }
    }()
}

/// A failure a test throws with its reason.
package struct TestFailure: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
