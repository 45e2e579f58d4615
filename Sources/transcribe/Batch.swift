import Foundation
import TranscribeKit

/// What became of one input.
enum Outcome: Sendable {
    case transcribed(Recognition, warnings: [String])
    case failed(reason: String)
    /// --skip-existing found its output file.
    case skipped
}

/// Transcribes the inputs with `jobs` workers sharing one model, writes each result as the
/// options say, and prints results in input order as soon as every earlier input is done.
final class Batch: @unchecked Sendable {
    struct Options {
        var jobs = 1
        var outputDirectory: String?
        var skipExisting = false
        var emissions: String?
        var quiet = false
    }

    let transcriber: any SpeechRecognizer
    let inputs: [Input]
    let options: Options
    let renderer: Renderer
    private let progress: Progress
    private let lock = NSLock()
    private var outcomes: [Outcome?]
    private var nextToPrint = 0
    private var nextToStart = 0
    private var printedAny = false
    private var failures = 0

    init(transcriber: any SpeechRecognizer, inputs: [Input], renderer: Renderer, options: Options) {
        self.transcriber = transcriber
        self.inputs = inputs
        self.renderer = renderer
        self.options = options
        self.outcomes = Array(repeating: nil, count: inputs.count)
        self.progress = Progress(total: inputs.count, enabled: !options.quiet)
    }

    /// Runs every input; returns how many failed.
    func run() -> Int {
        let workers = max(1, min(options.jobs, inputs.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let index = takeNext() {
                let outcome = process(inputs[index])
                finish(index, outcome)
            }
        }
        if options.outputDirectory == nil {
            writeStdout(printedAny ? renderer.stdoutFraming.suffix : renderer.stdoutFraming.empty)
        }
        progress.finish()
        return failures
    }

    private func takeNext() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard nextToStart < inputs.count else { return nil }
        nextToStart += 1
        return nextToStart - 1
    }

    /// Reads, transcribes and writes one input; never throws.
    private func process(_ input: Input) -> Outcome {
        let outputPath = options.outputDirectory.map { "\($0)/\(input.stem).\(renderer.format.fileExtension)" }
        if options.skipExisting, let outputPath, FileManager.default.fileExists(atPath: outputPath) {
            return .skipped
        }
        do {
            // Read block by block; standard input too, unless its format must seek (see StreamInput).
            let file =
                input.isStandardInput
                ? try AudioFile(descriptor: STDIN_FILENO, name: input.argument)
                : try AudioFile(path: input.argument)
            let stream = try AudioStream(file: file, sampleRate: transcriber.sampleRate)
            let recognition = try transcriber.recognize(stream: stream, keepingEmissions: options.emissions != nil)
            if let directory = options.emissions, let emissions = recognition.emissions {
                try writeAtomically(Npy.encode(emissions), to: "\(directory)/\(input.stem).npy")
            }
            if let outputPath {
                try writeAtomically(Data(renderer.document(input, recognition).utf8), to: outputPath)
            }
            return .transcribed(recognition, warnings: [stream.truncationWarning].compactMap { $0 })
        } catch let error as AudioError {
            return .failed(reason: error.reason)
        } catch let error as CustomStringConvertible {
            return .failed(reason: error.description)
        } catch {
            return .failed(reason: error.localizedDescription)
        }
    }

    /// Records an outcome and prints every result that is now next in input order.
    private func finish(_ index: Int, _ outcome: Outcome) {
        lock.lock()
        defer { lock.unlock() }
        outcomes[index] = outcome
        if case .transcribed(let recognition, _) = outcome {
            progress.advance(audio: recognition.duration)
        } else {
            progress.advance(audio: 0)
        }
        while nextToPrint < inputs.count, let ready = outcomes[nextToPrint] {
            let input = inputs[nextToPrint]
            switch ready {
            case .transcribed(let recognition, let warnings):
                for warning in warnings {
                    Diagnostics.write("transcribe: \(input.argument): warning: \(warning)\n")
                }
                if options.outputDirectory == nil { printRecord(renderer.stdoutRecord(input, recognition)) }
            case .failed(let reason):
                failures += 1
                Diagnostics.write("transcribe: \(input.argument): \(reason)\n")
                if options.outputDirectory == nil, let record = renderer.failureRecord(input, reason) {
                    printRecord(record)
                }
            case .skipped:
                break
            }
            outcomes[nextToPrint] = .skipped  // release the transcription's memory
            nextToPrint += 1
        }
    }

    private func printRecord(_ record: String) {
        writeStdout((printedAny ? renderer.stdoutFraming.separator : renderer.stdoutFraming.prefix) + record)
        printedAny = true
    }

    private func writeStdout(_ text: String) {
        guard !text.isEmpty else { return }
        // A closed pipe (`| head`) raises SIGPIPE, which ends the process quietly.
        try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
    }
}
