import ArgumentParser
import Foundation
import TranscribeKit

/// `transcribe FILE...`: each file's transcript on stdout, in input order.
@main
struct Transcribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe speech in audio files with a Wav2Vec2 CTC model.",
        discussion: """
            Reads WAV, FLAC, OGG/Vorbis, Opus, MP3 and every other format libsndfile knows, mixes \
            down to mono and resamples to the model's rate. Transcripts go to stdout, one line per \
            file in input order; errors go to stderr as `transcribe: FILE: reason`.

            The model is --model DIR, else $TRANSCRIBE_MODEL, else Models/wav2vec2-base-960h \
            (./Models, the checkout the binary was built in, then $XDG_DATA_HOME/transcribe/models). \
            scripts/download-model.sh fetches facebook/wav2vec2-base-960h there.

            Examples:
              transcribe speech.wav
              transcribe --model ~/models/wav2vec2-large-960h-lv60-self a.flac b.mp3
              transcribe --emissions out/ speech.wav   # also writes out/speech.npy

            Exit status: 0 when every file was transcribed, 1 when some failed (the others are \
            still transcribed), 2 for usage errors, 3 when the model cannot be loaded.
            """,
        version: "0.1.0")

    @Option(name: .long, help: ArgumentHelp("Model directory in Hugging Face layout.", valueName: "dir"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp(
        "Also write <dir>/<stem>.npy per input: float32 log-probabilities, shape (frames, vocab).",
        valueName: "dir"))
    var emissions: String?

    @Option(name: .long, help: ArgumentHelp("Threads for matrix products (default: all cores).", valueName: "n"))
    var threads: Int?

    @Argument(help: ArgumentHelp("Audio files to transcribe.", valueName: "file"))
    var files: [String]

    func validate() throws {
        guard (threads ?? 1) > 0 else { throw ValidationError("--threads must be at least 1") }
        guard !files.isEmpty else { throw ValidationError("Missing expected argument '<file> ...'") }
        if emissions != nil {
            var seen: [String: String] = [:]
            for file in files {
                if let other = seen.updateValue(file, forKey: Self.stem(file)) {
                    throw ValidationError("\(other) and \(file) would both write \(Self.stem(file)).npy to --emissions")
                }
            }
        }
    }

    static func stem(_ file: String) -> String {
        URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
    }

    enum Status: Int32 {
        case success = 0
        case someInputsFailed = 1
        case usage = 2
        case modelUnavailable = 3
    }

    static func main() {
        let command: Transcribe
        do {
            command = try parse()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            printError(fullMessage(for: error))
            Foundation.exit(Status.usage.rawValue)
        }
        Foundation.exit(command.transcribeAll().rawValue)
    }

    func transcribeAll() -> Status {
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        BLAS.setThreads(threads)
        Parallel.threads = threads
        let transcriber: Transcriber
        do {
            transcriber = try Transcriber(directory: ModelDirectory.resolve(explicit: model))
        } catch {
            Self.printError("transcribe: \(error)")
            return .modelUnavailable
        }
        if let emissions {
            do {
                try FileManager.default.createDirectory(atPath: emissions, withIntermediateDirectories: true)
            } catch {
                Self.printError("transcribe: \(emissions): cannot create the emissions directory: \(error.localizedDescription)")
                return .usage
            }
        }

        var failures = 0
        for file in files {
            do {
                let transcription = try transcriber.transcribe(file: file)
                if let emissions {
                    try writeAtomically(Npy.encode(transcription.logProbs), to: "\(emissions)/\(Self.stem(file)).npy")
                }
                print(transcription.text)
            } catch let error as AudioError {
                failures += 1
                Self.printError("transcribe: \(file): \(error.reason)")
            } catch {
                failures += 1
                Self.printError("transcribe: \(file): \(error.localizedDescription)")
            }
        }
        return failures == 0 ? .success : .someInputsFailed
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
