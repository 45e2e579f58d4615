import ArgumentParser
import TranscribeKit

/// Which audio to read: files, a list of them, this machine's share of a list.
struct InputArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("Audio files to transcribe; '-' reads one from standard input.", valueName: "file"))
    var files: [String] = []

    @Option(
        name: .long, help: ArgumentHelp("Read input paths from a file, one per line ('-': stdin).", valueName: "path"))
    var filesFrom: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Take every n-th input starting at the k-th (0-based), to split one list over n machines.", valueName: "k/n"
        ))
    var shard: String?

    @Flag(name: .long, help: "With --output-dir, skip inputs whose output file exists (resume a run).")
    var skipExisting = false
}

/// What is written, and where.
struct OutputArguments: ParsableArguments {
    @Option(name: [.customShort("f"), .long], help: "Output format.")
    var format: OutputFormat = .txt

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp(
            "Write one file per input, <dir>/<stem>.<format>, each atomically; nothing on stdout.", valueName: "dir"))
    var outputDir: String?

    @Option(name: .customLong("case"), help: "Letter case of the text, for models that emit upper case only.")
    var textCase: TextCase?

    @Flag(name: .long, help: "CTC models, with --format json or jsonl: each word's character timings.")
    var characters = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "CTC models: also write <dir>/<stem>.npy per input: float32 log-probabilities, shape (frames, vocab).",
            valueName: "dir"))
    var emissions: String?

    @Option(name: .long, help: ArgumentHelp("srt and vtt: characters per subtitle line.", valueName: "n"))
    var maxLineWidth = Segmenter.defaultMaximumLineLength

    @Option(name: .long, help: ArgumentHelp("srt and vtt: lines per subtitle cue.", valueName: "n"))
    var maxLineCount = Segmenter.defaultMaximumLines

    @Option(
        name: .long, help: ArgumentHelp("srt and vtt: words per subtitle line (default: no limit).", valueName: "n"))
    var maxWordsPerLine: Int?
}

/// Which checkpoint runs.
struct ModelArguments: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Model directory in Hugging Face layout, or the name of an installed model (tiny.en, base, ...).",
            valueName: "dir|name"))
    var model: String?

    @Flag(name: .long, help: "List the installed models, their families and where they are; then exit.")
    var listModels = false
}

/// How a Whisper model decodes; a CTC model ignores these.
struct WhisperArguments: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The spoken language, e.g. en, de (default: detected by multilingual models).", valueName: "code"))
    var language: String?

    @Option(name: .long, help: "Transcribe, or translate into English (multilingual models).")
    var task: WhisperDecodingOptions.Task = .transcribe

    @Option(name: .long, help: ArgumentHelp("Beams of the beam search; 1 decodes greedily.", valueName: "n"))
    var beamSize = 5

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Fill a window shorter than 30 s with zero frames after the log-mel (features: faster-whisper, "
                + "transformers' long-form) or with silence before it (audio: WhisperFeatureExtractor, openai-whisper).",
            valueName: "features|audio"))
    var padding: WhisperDecodingOptions.WindowPadding = .features

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Decode speech regions packed into 30 s windows, n windows at a time (faster-whisper's "
                + "BatchedInferencePipeline: implies --vad, no timestamps or previous-text prompt within a window).",
            valueName: "n"))
    var batchSize: Int?
}

/// How the work is spread over the cores.
struct PerformanceArguments: ParsableArguments {
    @Option(name: [.customShort("j"), .long], help: "Files transcribed at once, sharing one loaded model.")
    var jobs = 1

    @Option(
        name: .long,
        help: ArgumentHelp("Threads for the matrix work (default: all cores, shared between jobs).", valueName: "n"))
    var threads: Int?
}

/// Which parts of the input are decoded: all of it, or the speech Silero VAD finds.
struct SpeechArguments: ParsableArguments {
    @Flag(
        name: .long, inversion: .prefixedNo,
        help:
            "Decode only the speech that Silero VAD finds; times stay the input's (faster-whisper's vad_filter; default: off)."
    )
    var vad: Bool?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The voice activity detector: a directory or an installed name (scripts/install-vad.sh).",
            valueName: "dir|name"))
    var vadModel = "silero-vad-v6"

    @Option(
        name: .long,
        help: ArgumentHelp("Speech probability at or above which a 32 ms chunk is speech.", valueName: "p"))
    var vadThreshold = SpeechRegionOptions().threshold

    @Option(name: .long, help: ArgumentHelp("Silence that ends a speech region.", valueName: "ms"))
    var vadMinSilence: Int?

    @Option(name: .long, help: ArgumentHelp("Speech regions this short or shorter are dropped.", valueName: "ms"))
    var vadMinSpeech = SpeechRegionOptions().minimumSpeechMilliseconds

    @Option(name: .long, help: ArgumentHelp("Audio kept on each side of a speech region.", valueName: "ms"))
    var vadPad = SpeechRegionOptions().speechPadMilliseconds

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Longest speech region; a longer one is split at a pause (default: no limit; 30 with --batch-size).",
            valueName: "s"))
    var vadMaxSpeech: Double?
}
