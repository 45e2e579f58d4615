import Foundation

extension SpeechRecognizer {
    /// An upper estimate of the memory transcribing needs beyond the loaded model, with `jobs`
    /// inputs computed at once over `threads` threads: `MemoryCheck.firstThreadBytes`, then
    /// `extraThreadBytes` for each further thread that may run products at once (no more than
    /// there are cores), and for each window computed at once (`windowsAtOnce(threads:)` per
    /// input) its largest activation. Measured under `ulimit -v` with wav2vec2 base and the tiny
    /// fixtures, runs need 10-380 MiB less. (Whisper also holds an input's samples, 64 KB a
    /// second, which no estimate can know.)
    public func memoryNeeded(jobs: Int, threads: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int
    {
        let threadsAtOnce = max(1, min(max(jobs, 1) * max(threads, 1), max(cores, 1)))
        let inputsAtOnce = min(max(jobs, 1), threadsAtOnce)
        let windowsAtOnce = inputsAtOnce * windowsAtOnce(threads: max(threads, 1))
        return MemoryCheck.firstThreadBytes + (threadsAtOnce - 1) * MemoryCheck.extraThreadBytes
            + windowsAtOnce * largestActivationBytes
    }
}
