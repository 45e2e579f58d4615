import Foundation

extension SpeechRecognizer {
    /// An upper estimate of the memory transcribing needs beyond the loaded model, with `jobs`
    /// inputs computed at once over `threads` threads: `MemoryCheck.firstThreadBytes`, then
    /// `extraThreadBytes` for each further thread that may run products at once (no more than
    /// there are cores), and for each window computed at once (a long wav2vec2 input runs up to
    /// `Transcriber.maximumWindowsAtOnce` of them over its threads) its largest activation.
    /// Measured under `ulimit -v` with wav2vec2 base and the tiny fixtures, runs need 10-380 MiB less.
    /// (Whisper also holds an input's samples, 64 KB a second, which no estimate can know.)
    public func memoryNeeded(jobs: Int, threads: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        let threadsAtOnce = max(1, min(max(jobs, 1) * max(threads, 1), max(cores, 1)))
        let inputsAtOnce = min(max(jobs, 1), threadsAtOnce)
        let windowsPerInput = self is Transcriber ? min(max(threads, 1), Transcriber.maximumWindowsAtOnce) : 1
        let windowsAtOnce = inputsAtOnce * windowsPerInput
        return MemoryCheck.firstThreadBytes + (threadsAtOnce - 1) * MemoryCheck.extraThreadBytes
            + windowsAtOnce * largestActivationBytes
    }

    /// Bytes of the largest activation of one full window: for wav2vec2 the first convolution's
    /// output `(frames, conv_dim[0])` (196 MB for base-960h's 30 s), for Whisper the encoder's
    /// attention scores `(heads, 1500, 1500)` beside its feed-forward activation.
    var largestActivationBytes: Int {
        let float = MemoryLayout<Float>.size
        switch self {
        case let ctc as Transcriber:
            let config = ctc.model.config
            return config.convDim[0] * (ctc.windowPlan.maximumWindowSamples / config.convStride[0] + 1) * float
        case let whisper as WhisperTranscriber:
            let config = whisper.model.config
            let frames = config.maxSourcePositions
            return (config.encoderAttentionHeads * frames * frames + 2 * frames * config.encoderFfnDim) * float
        default:
            return 0
        }
    }
}
