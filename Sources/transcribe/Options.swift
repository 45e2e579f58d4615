import ArgumentParser
import Foundation
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

    @Flag(
        name: .long,
        help:
            "Transcribe one endless input as it arrives (a microphone, a stream): words on stdout as soon as they are final."
    )
    var live = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read inputs as headerless PCM at this rate (arecord -t raw, ffmpeg -f s16le).", valueName: "hz"))
    var rawRate: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("The sample format of headerless PCM (default: s16le).", valueName: "s16le|f32le"))
    var rawFormat: RawPCMStream.Encoding?

    @Option(name: .long, help: ArgumentHelp("Channels of headerless PCM (default: 1).", valueName: "n"))
    var rawChannels: Int?

    /// Headerless PCM as --raw-rate, --raw-format and --raw-channels describe it.
    var raw: RawInput? {
        rawRate.map { RawInput(encoding: rawFormat ?? .s16le, rate: $0, channels: rawChannels ?? 1) }
    }

    func validate() throws {
        if (rawFormat != nil || rawChannels != nil) && rawRate == nil {
            throw ValidationError(
                "--raw-format and --raw-channels describe headerless PCM: give its rate with --raw-rate")
        }
        guard (rawRate ?? 1) > 0, (rawChannels ?? 1) > 0 else {
            throw ValidationError("--raw-rate and --raw-channels must be at least 1")
        }
    }
}

/// How headerless PCM is laid out.
struct RawInput: Sendable {
    let encoding: RawPCMStream.Encoding
    let rate: Int
    let channels: Int
}

/// What is written, and where.
struct OutputArguments: ParsableArguments {
    @Option(name: [.customShort("f"), .long], help: "Output format.")
    var format: OutputFormat = .txt

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp(
            "Write one file per input, <dir>/<stem>.<format>, each atomically; nothing on stdout. "
                + "With one input, a name ending in .<format> is that file.", valueName: "dir|file"))
    var outputDir: String?

    @Option(name: .customLong("case"), help: "Letter case of the text, for models that emit upper case only.")
    var textCase: TextCase?

    @Flag(name: .long, help: "With --format jsonl: one line per segment, written as soon as it is decided.")
    var segments = false

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

    @Option(name: .long, help: "Transcribe, or translate into English (multilingual models; default: transcribe).")
    var task: WhisperDecodingOptions.Task?

    @Option(
        name: .long,
        help: ArgumentHelp("Beams of the beam search; 1 decodes greedily (default: 5; 1 with --live).", valueName: "n"))
    var beamSize: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Fill a window shorter than 30 s with zero frames after the log-mel (features, the default: "
                + "faster-whisper, transformers' long-form) or with silence before it (audio: "
                + "WhisperFeatureExtractor, openai-whisper).",
            valueName: "features|audio"))
    var padding: WhisperDecodingOptions.WindowPadding?

    /// The options given, as the command line spells them: a classifier refuses them.
    var given: [String] {
        [
            language.map { _ in "--language" }, task.map { _ in "--task" }, beamSize.map { _ in "--beam-size" },
            padding.map { _ in "--padding" }, batchSize.map { _ in "--batch-size" },
        ].compactMap { $0 }
    }

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
    @Option(
        name: [.customShort("j"), .long],
        help: ArgumentHelp(
            "Files transcribed at once, sharing one loaded model (default: one per thread, at most one per input).",
            valueName: "n"))
    var jobs: Int?

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

/// How an audio classifier scores an input and finds events along it; transcription models
/// refuse these.
struct ClassificationArguments: ParsableArguments {
    @Option(
        name: .long,
        help: "How logits become scores (default: the model's: sigmoid for multi-label models, else softmax).")
    var scores: ScoreFunction?

    @Option(name: .long, help: ArgumentHelp("Labels listed per input and per window (default: 5).", valueName: "n"))
    var topK: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds classified at once along a longer input (default: the model's input: 1 for keyword "
                + "spotters, 10.255 for AST, 30 for other Wav2Vec2 heads).", valueName: "s"))
    var window: Double?

    @Option(
        name: .long, help: ArgumentHelp("Seconds between window starts (default: half the window).", valueName: "s"))
    var hop: Double?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Labels that become events, separated by commas or given again for a label with a comma in it "
                + "(default: every label but _silence_ and _unknown_).",
            valueName: "a,b"))
    var keywords: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Score at or above which a window holds its label, for events (default: 0.5).", valueName: "p"))
    var eventThreshold: Float?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Events of one label this close merge (default: 0.5 for keyword spotters, 0 for sound taggers).",
            valueName: "s"))
    var eventMinGap: Double?

    /// The options given, as the command line spells them: a transcription model refuses them.
    var given: [String] {
        let values: [(String, Any?)] = [
            ("--scores", scores), ("--top-k", topK), ("--window", window), ("--hop", hop),
            ("--keywords", keywords.isEmpty ? nil : keywords), ("--event-threshold", eventThreshold),
            ("--event-min-gap", eventMinGap),
        ]
        return values.compactMap { name, value in value == nil ? nil : name }
    }

    func validate() throws {
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if let eventThreshold, !eventThreshold.isFinite { throw ValidationError("--event-threshold must be a number") }
        if let eventMinGap, !(eventMinGap >= 0) { throw ValidationError("--event-min-gap must be 0 or more") }
        if keywords.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--keywords needs a label")
        }
    }

    var options: ClassificationOptions {
        var options = ClassificationOptions()
        options.scores = scores
        options.topK = topK ?? options.topK
        options.windowSeconds = window
        options.hopSeconds = hop
        options.eventLabels = keywords.isEmpty ? nil : keywords
        options.eventThreshold = eventThreshold ?? options.eventThreshold
        options.eventMinimumGap = eventMinGap
        return options
    }
}
