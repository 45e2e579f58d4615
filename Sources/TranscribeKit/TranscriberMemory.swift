import Foundation

extension Transcriber {
    /// An upper estimate of the memory transcribing needs beyond the loaded model, with `jobs`
    /// inputs computed at once over `threads` threads: `MemoryCheck.firstThreadBytes`, then
    /// `extraThreadBytes` for each further thread that may run products at once (no more than
    /// there are cores), and for each input computed at once the largest activation of a full
    /// window, the first convolution's output `(frames, conv_dim[0])` (196 MB for base-960h's 30 s
    /// windows). Measured under `ulimit -v`, runs need 10-150 MiB less.
    public func memoryNeeded(jobs: Int, threads: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        let config = model.config
        let threadsAtOnce = max(1, min(max(jobs, 1) * max(threads, 1), max(cores, 1)))
        let firstConvolution = config.convDim[0] * (windowPlan.maximumWindowSamples / config.convStride[0] + 1)
        let inputsAtOnce = min(max(jobs, 1), threadsAtOnce)
        return MemoryCheck.firstThreadBytes + (threadsAtOnce - 1) * MemoryCheck.extraThreadBytes
            + inputsAtOnce * firstConvolution * MemoryLayout<Float>.size
    }
}
