import Foundation

/// A loaded model of any family: audio stream in, recognition out. What the command line and the
/// memory check need to know of a family is a requirement here, never a check of its type.
public protocol SpeechRecognizer: Sendable {
    var directory: ModelDirectory { get }
    var family: ModelFamily { get }
    /// The rate the model takes its samples at.
    var sampleRate: Int { get }
    /// Whether `recognize` fills `emissions`.
    var hasEmissions: Bool { get }
    /// Windows of one input computed at once over `threads` threads.
    func windowsAtOnce(threads: Int) -> Int
    /// Bytes of the largest activation of one full window, for the memory estimate.
    var largestActivationBytes: Int { get }
    /// Transcribes `stream`; `keepingEmissions` keeps the CTC log-probabilities, which otherwise
    /// are dropped window by window. `updates` hears how far it got and what is decided, as it goes.
    func recognize(stream: any SampleSource, keepingEmissions: Bool, updates: RecognitionUpdates?) throws
        -> Recognition
}

extension SpeechRecognizer {
    public func recognize(stream: any SampleSource, keepingEmissions: Bool) throws -> Recognition {
        try recognize(stream: stream, keepingEmissions: keepingEmissions, updates: nil)
    }
}

/// What a recognizer tells while it works through one input, on the thread that runs it.
public struct RecognitionUpdates {
    /// Seconds of the input worked through so far.
    public var heard: (Double) -> Void
    /// What is decided so far: a recognition whose words no later audio can change (CTC: every
    /// word a delimiter has closed; Whisper: every segment of the windows done), each call holding
    /// the previous one's words and more. The final result may add words after them, never change them.
    public var decided: (Recognition) -> Void

    public init(heard: @escaping (Double) -> Void = { _ in }, decided: @escaping (Recognition) -> Void = { _ in }) {
        self.heard = heard
        self.decided = decided
    }
}

/// What one input became, whichever model family heard it: what the writers print.
public struct Recognition: Sendable {
    public internal(set) var transcript: TimedTranscript
    /// The model's own segments as ranges of `transcript.words` (Whisper's timestamps); nil
    /// where the writers cut segments themselves (CTC).
    public let segmentWords: [Range<Int>]?
    /// `(frames, vocab)` CTC log-probabilities for `--emissions`; nil for Whisper.
    public let emissions: Matrix?
    /// Whisper's own result: its language and segments as faster-whisper reports them.
    public var whisper: WhisperTranscription? = nil
    /// Where the speech was, when only the speech was recognized (`--vad`): times are the
    /// input's already (see `restored(to:inputSeconds:)`).
    public var speech: SpeechTimeline? = nil
    /// An audio classifier's scores, timeline and events; the transcript is then empty.
    public var classification: AudioClassification? = nil

    public var duration: Double { transcript.duration }
}
