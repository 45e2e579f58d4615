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
        /// Threads for the products, shared between the jobs at work.
        var threads = 1
        var outputDirectory: BytePath?
        /// `-o FILE.<format>` with one input: that input's output file.
        var outputFile: BytePath?
        var skipExisting = false
        var emissions: BytePath?
        var quiet = false
        /// --language named the language (Whisper), rather than leaving it to detection.
        var languageGiven = false
        /// --vad: only the speech is recognized.
        var speech: SpeechDetection?
        /// --batch-size: Whisper's batched pipeline over the speech regions.
        var batchSize: Int?
        /// --raw-rate: inputs are headerless PCM.
        var raw: RawInput?

        /// Results go to files, and nothing to stdout.
        var writesFiles: Bool { outputDirectory != nil || outputFile != nil }
    }

    /// The voice activity detector and how its probabilities become regions.
    struct SpeechDetection {
        let detector: SileroVAD
        let options: SpeechRegionOptions
    }

    let transcriber: any SpeechRecognizer
    let inputs: [Input]
    let options: Options
    let renderer: Renderer
    private let progress: Progress
    private let lock = NSLock()
    private var outcomes: [Outcome?]
    /// Of the inputs in progress, the beginning of each one's stdout record that is decided
    /// (`Renderer.decidedRecord`), and for Whisper its language line; printed as soon as the
    /// input is the next to print.
    private var decided: [Int: (record: String, languageLine: String?)] = [:]
    /// How much of the next input's record is on stdout (UTF-8 bytes), and whether its start
    /// (the framing before it, its language line) is.
    private var printedOfNext = 0
    private var startedNext = false
    private var nextToPrint = 0
    private var nextToStart = 0
    /// Inputs transcribed after stdout failed, whose results could not be printed: with those
    /// never started, the inputs the run's last line says were not transcribed.
    private var undelivered = 0
    /// Jobs that have not yet found the inputs all started: they share `options.threads`.
    private var jobsAtWork = 0
    private var printedAny = false
    private var failures = 0
    /// Set when nothing more can be written (stdout or the output folder failed): no further
    /// input is started.
    private var stopReason: String?
    /// Every input file by device and inode: outputs never replace one, under any name.
    private let inputFiles: Set<FileIdentity>

    init(transcriber: any SpeechRecognizer, inputs: [Input], renderer: Renderer, options: Options) {
        self.transcriber = transcriber
        self.inputs = inputs
        self.renderer = renderer
        self.options = options
        self.outcomes = Array(repeating: nil, count: inputs.count)
        self.progress = Progress(total: inputs.count, enabled: !options.quiet)
        self.inputFiles = Set(
            inputs.compactMap { input in
                input.isStandardInput ? FileIdentity(descriptor: STDIN_FILENO) : FileIdentity(path: input.path)
            })
    }

    /// Runs every input; returns how many failed.
    func run() -> Int {
        let workers = max(1, min(options.jobs, inputs.count))
        jobsAtWork = workers
        BLAS.setThreads(max(1, options.threads / workers))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let index = takeNext() {
                let outcome = process(inputs[index], index: index)
                finish(index, outcome)
            }
            // Nothing left to start: the jobs still at work take this one's threads from their
            // next product on (results do not depend on the count).
            lock.withLock {
                jobsAtWork -= 1
                if jobsAtWork > 0 { BLAS.setThreads(max(1, options.threads / jobsAtWork)) }
            }
        }
        if !options.writesFiles && stopReason == nil {
            writeStdout(printedAny ? renderer.stdoutFraming.suffix : renderer.stdoutFraming.empty)
        }
        progress.finish()
        if let stopReason, nextToStart < inputs.count || undelivered > 0 {
            let left = inputs.count - nextToStart + undelivered
            failures += left
            Diagnostics.write(
                "transcribe: stopped: \(left) of \(inputs.count) inputs were not transcribed (\(stopReason))\n")
        }
        return failures
    }

    private func takeNext() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard nextToStart < inputs.count, stopReason == nil else { return nil }
        nextToStart += 1
        return nextToStart - 1
    }

    /// Where the input's output goes with --output-dir: `<dir>/<stem>.<format>`, or the file `-o` named.
    private func outputPath(_ input: Input) -> BytePath? {
        options.outputFile
            ?? options.outputDirectory.map {
                $0.appending(BytePath(bytes: input.stem.bytes + Array(".\(renderer.format.fileExtension)".utf8)))
            }
    }

    /// Reads, transcribes and writes one input; never throws.
    private func process(_ input: Input, index: Int) -> Outcome {
        if let problem = input.problem { return .failed(reason: problem) }
        let outputPath = outputPath(input)
        if options.skipExisting, let outputPath, renderer.format.isComplete(fileAt: outputPath) {
            return .skipped
        }
        do {
            let stream = try openStream(input, sampleRate: transcriber.sampleRate, raw: options.raw)
            // The length a header claims (none for headerless PCM) is what time left is told by.
            progress.started(index, duration: (stream as? AudioStream)?.file.claimedSeconds)
            let recognition = try recognize(stream, updates: updates(for: input, index: index))
            if let directory = options.emissions, let emissions = recognition.emissions {
                let path = directory.appending(BytePath(bytes: input.stem.bytes + Array(".npy".utf8)))
                try writeAtomically(Npy.encode(emissions), to: path, protecting: inputFiles)
            }
            if let outputPath {
                try writeAtomically(
                    Data(renderer.document(input, recognition).utf8), to: outputPath, protecting: inputFiles)
            }
            return .transcribed(recognition, warnings: [(stream as? AudioStream)?.truncationWarning].compactMap { $0 })
        } catch let error as AudioError {
            return .failed(reason: error.reason)
        } catch let error as OutputError {
            if error.endsTheRun { stop(because: error.description) }
            return .failed(reason: error.description)
        } catch let error as CustomStringConvertible {
            return .failed(reason: error.description)
        } catch {
            return .failed(reason: error.localizedDescription)
        }
    }

    /// The whole input, or with --vad its speech, recognized; times are the input's.
    private func recognize(_ stream: any SampleSource, updates: RecognitionUpdates) throws -> Recognition {
        let keepingEmissions = options.emissions != nil
        guard let speech = options.speech else {
            return try transcriber.recognize(stream: stream, keepingEmissions: keepingEmissions, updates: updates)
        }
        let filter = SpeechFilter(source: stream, detector: speech.detector, options: speech.options)
        if let batchSize = options.batchSize, let whisper = transcriber as? WhisperRecognizer {
            return try whisper.recognizeBatched(speech: filter, batchSize: batchSize)
        }
        // Progress counts the input read; what is decided is put back on its timeline. Whisper
        // reads its input whole before decoding, so that timeline is complete; a CTC model's
        // words come while regions are still being found, so they are printed at the end.
        let speechUpdates = RecognitionUpdates(
            heard: { _ in updates.heard(filter.inputSeconds) },
            decided: { partial in
                guard partial.whisper != nil else { return }
                updates.decided(partial.restored(to: filter.timeline, inputSeconds: filter.inputSeconds))
            })
        return try transcriber.recognize(stream: filter, keepingEmissions: keepingEmissions, updates: speechUpdates)
            .restored(to: filter.timeline, inputSeconds: filter.inputSeconds)
    }

    /// Where a recognizer's updates go: the progress line, and with results on stdout, the
    /// decided part of the input's record.
    private func updates(for input: Input, index: Int) -> RecognitionUpdates {
        RecognitionUpdates(
            heard: { [progress] in progress.heard(index, seconds: $0) },
            decided: { [self] partial in
                guard !options.writesFiles else { return }
                let record = renderer.decidedRecord(input, partial)
                guard !record.isEmpty else { return }
                lock.lock()
                defer { lock.unlock() }
                decide(index, record, languageLine: partial.whisper.map(languageLine))
                if index == nextToPrint { _ = printDecided() }
            })
    }

    /// `record` is decided of input `index`'s record: what was decided of it before, and so
    /// what of it is printed, must begin it (never otherwise, by `Renderer.decidedRecord`; said
    /// rather than hidden, and the whole record follows on a line of its own). Lock held.
    private func decide(_ index: Int, _ record: String, languageLine: String?) {
        var record = record
        if index == nextToPrint, let printed = decided[index]?.record.utf8.prefix(printedOfNext),
            !record.utf8.starts(with: printed)
        {
            Diagnostics.write(
                "transcribe: \(inputs[index].name): internal error: the record printed so far is not the "
                    + "beginning of the whole one; the whole one follows\n")
            record = "\n" + record
            printedOfNext = 0
        }
        decided[index] = (record, languageLine)
    }

    /// Prints what is decided of the next input's record and not yet printed. Its start comes
    /// first: the framing before a record, and for Whisper on a terminal, the language line.
    /// False when stdout could not take it (after the first failure, nothing more is tried).
    /// Called with the lock held.
    private func printDecided() -> Bool {
        guard let (record, languageLine) = decided[nextToPrint] else { return true }
        if !startedNext {
            progress.clear()
            if let languageLine, Diagnostics.isTerminal && !options.quiet {
                Diagnostics.write("transcribe: \(inputs[nextToPrint].name): \(languageLine)\n")
            }
            startedNext = true
            guard writeStdout(printedAny ? renderer.stdoutFraming.separator : renderer.stdoutFraming.prefix) else {
                return false
            }
            printedAny = true
        }
        let rest = record.utf8.dropFirst(printedOfNext)
        guard !rest.isEmpty else { return true }
        progress.clear()
        guard writeStdout(String(decoding: rest, as: UTF8.self)) else { return false }
        printedOfNext = record.utf8.count
        progress.hold(isatty(STDOUT_FILENO) == 1 && record.utf8.last != UInt8(ascii: "\n"))
        return true
    }

    /// No further input is started: what they would give could not be kept.
    private func stop(because reason: String) {
        lock.lock()
        defer { lock.unlock() }
        if stopReason == nil { stopReason = reason }
    }

    /// Records an outcome and prints every result that is now next in input order.
    private func finish(_ index: Int, _ outcome: Outcome) {
        lock.lock()
        defer { lock.unlock() }
        outcomes[index] = outcome
        defer {
            switch outcome {
            case .transcribed(let recognition, _): progress.advance(index, .transcribed, audio: recognition.duration)
            case .failed: progress.advance(index, .failed)
            case .skipped: progress.advance(index, .skipped)
            }
        }
        while nextToPrint < inputs.count, let ready = outcomes[nextToPrint] {
            let input = inputs[nextToPrint]
            progress.clear()
            switch ready {
            case .transcribed(let recognition, let warnings):
                // Words printed as they came may have left the input's line open on stdout: its
                // warnings then wait until the line ends, lest they continue it on a terminal.
                let lineOpen =
                    !options.writesFiles && printedOfNext > 0
                    && decided[nextToPrint]?.record.utf8.prefix(printedOfNext).last != UInt8(ascii: "\n")
                let warningLines = warnings.map { "transcribe: \(input.name): warning: \($0)\n" }
                if !lineOpen { warningLines.forEach(Diagnostics.write) }
                defer {
                    if lineOpen {
                        progress.clear()
                        warningLines.forEach(Diagnostics.write)
                    }
                }
                if let speech = recognition.speech, speech.regions.isEmpty, Diagnostics.isTerminal && !options.quiet {
                    Diagnostics.write("transcribe: \(input.name): no speech found\n")
                } else if let whisper = recognition.whisper, !startedNext, Diagnostics.isTerminal && !options.quiet {
                    Diagnostics.write("transcribe: \(input.name): \(languageLine(whisper))\n")
                }
                if !options.writesFiles && stopReason != nil {
                    undelivered += 1  // stdout failed while this input was in progress
                } else if !options.writesFiles {
                    decide(nextToPrint, renderer.stdoutRecord(input, recognition), languageLine: nil)
                    if !printDecided() { failures += 1 }
                }
            case .failed(let reason):
                failures += 1
                // A record cut short by the failure ends its line.
                if !options.writesFiles, printedOfNext > 0, decided[nextToPrint]?.record.utf8.last != UInt8(ascii: "\n")
                {
                    writeStdout("\n")
                }
                Diagnostics.write("transcribe: \(input.name): \(reason)\n")
                if !options.writesFiles, let record = renderer.failureRecord(input, reason) {
                    // A record of its own after what was printed of the input's.
                    (decided[nextToPrint], printedOfNext) = ((record, nil), 0)
                    _ = printDecided()
                }
            case .skipped:
                break
            }
            outcomes[nextToPrint] = .skipped  // release the transcription's memory
            decided[nextToPrint] = nil
            (printedOfNext, startedNext) = (0, false)
            progress.hold(false)
            nextToPrint += 1
            _ = printDecided()
        }
    }

    /// Ctrl-C or SIGTERM: waits (a second at most) for a write to stdout in progress, so that
    /// what is there ends with a whole segment, ends a line cut short, and takes the progress
    /// line off the screen. The lock stays held: nothing more is printed before the exit.
    func interrupt() {
        let deadline = Date().addingTimeInterval(1)
        while !lock.try() {
            guard Date() < deadline else { return }
            usleep(1000)
        }
        if !options.writesFiles, printedOfNext > 0, decided[nextToPrint]?.record.utf8.last != UInt8(ascii: "\n") {
            writeStdout("\n")
        }
        progress.clear()
    }

    /// `language German (de), detected with probability 0.97`; `..., as given`; or `..., the
    /// model's only language`.
    private func languageLine(_ whisper: WhisperTranscription) -> String {
        let name = WhisperLanguages.name(of: whisper.language)
        let how =
            whisper.languageWasDetected
            ? String(format: "detected with probability %.2f", whisper.languageProbability)
            : options.languageGiven ? "as given" : "the model's only language"
        return "language \(name.prefix(1).uppercased() + name.dropFirst()) (\(whisper.language)), \(how)"
    }

    /// Writes to stdout, checked. A closed pipe (`| head`) raises SIGPIPE, which ends the process
    /// quietly; any other failure (a full disk, a closed stdout) is one line on stderr, and the
    /// run stops: nothing more could be written.
    @discardableResult
    private func writeStdout(_ text: String) -> Bool {
        guard stopReason == nil else { return false }
        guard !text.isEmpty else { return true }
        let code = Array(text.utf8).withUnsafeBytes { writeAll(STDOUT_FILENO, $0) }
        guard code != 0 else { return true }
        let reason = "stdout: \(String(cString: strerror(code)))"
        Diagnostics.write("transcribe: \(reason)\n")
        stopReason = reason
        return false
    }
}

/// The input's samples at `sampleRate`, read block by block: decoded by libsndfile (standard
/// input too, unless its format must seek; see StreamInput), or headerless PCM as `raw` says.
func openStream(_ input: Input, sampleRate: Int, raw: RawInput?) throws -> any SampleSource {
    guard let raw else {
        let file =
            input.isStandardInput
            ? try AudioFile(descriptor: STDIN_FILENO, name: input.name)
            : try AudioFile(path: input.path, name: input.name)
        return try AudioStream(file: file, sampleRate: sampleRate)
    }
    var descriptor = STDIN_FILENO
    if !input.isStandardInput {
        descriptor = input.path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else {
            throw AudioError.cannotOpen(path: input.name, reason: String(cString: strerror(errno)).lowercased())
        }
    }
    return try RawPCMStream(
        descriptor: descriptor, closing: !input.isStandardInput, name: input.name, encoding: raw.encoding,
        sourceRate: raw.rate, channels: raw.channels,
        sampleRate: sampleRate)
}
