import Foundation

/// Kaldi's log mel filter bank as `torchaudio.compliance.kaldi.fbank` computes it with the
/// arguments ASTFeatureExtractor passes: 25 ms frames every 10 ms with no padding at the edges
/// (`snip_edges`), no dither, the DC offset removed, pre-emphasis 0.97, a symmetric Hann window
/// (`window_type="hanning"`), a 512-point power spectrum, triangular filters evenly spaced on
/// Kaldi's mel scale (`1127 ln(1 + f / 700)`) from 20 Hz to Nyquist, and the log of each band's
/// energy, floored at float32's epsilon.
/// https://github.com/pytorch/audio/blob/main/src/torchaudio/compliance/kaldi.py
public struct KaldiFilterBank: Sendable {
    public let sampleRate: Int
    public let melBins: Int
    /// Samples per frame (400 at 16 kHz) and between frame starts (160).
    public let frameLength: Int
    public let frameShift: Int
    /// The frame zero-padded to a power of two (512).
    public let paddedLength: Int
    /// `torch.hann_window(frameLength, periodic=False)`.
    private let window: [Double]
    /// The power spectrum's FFT, in Double: float32 DFTs differ from each other by more than
    /// 1e-4 in the log of the quietest bands (those below the pre-emphasis's cut).
    private let fft: RealFFT
    /// `(paddedLength / 2 + 1, melBins)`: the weight of each power-spectrum bin in each band.
    private let filters: Matrix

    static let preemphasis = 0.97
    static let lowFrequency = 20.0
    /// `torch.finfo(torch.float).eps`: energies below it are taken as it before the log.
    static let energyFloor = Float.ulpOfOne

    public init(sampleRate: Int = 16_000, melBins: Int = 128) {
        self.sampleRate = sampleRate
        self.melBins = melBins
        let (frameLength, frameShift) = Self.frameSizes(sampleRate: sampleRate)
        (self.frameLength, self.frameShift) = (frameLength, frameShift)
        var padded = 1
        while padded < frameLength { padded *= 2 }
        paddedLength = padded
        let bins = padded / 2 + 1

        window = (0..<frameLength).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(frameLength - 1)) }
        fft = RealFFT(size: padded)

        // get_mel_banks: triangles in mel between evenly spaced edges; the Nyquist bin gets no
        // weight. As torchaudio, the edges and the bins' mels are float32 values: the narrow low
        // bands are sensitive to their rounding.
        func mel(_ hertz: Double) -> Double { 1127 * log(1 + hertz / 700) }
        let low = mel(Self.lowFrequency)
        let delta = (mel(Double(sampleRate) / 2) - low) / Double(melBins + 1)
        let binWidth = Float(Double(sampleRate) / Double(padded))
        let bandEdges = (0..<(melBins + 2)).map { Float(low) + Float($0) * Float(delta) }
        let binMels = (0..<(bins - 1)).map { 1127 * log(1 + binWidth * Float($0) / 700) }
        var filters = Matrix(zeros: bins, melBins)
        for band in 0..<melBins {
            let (left, centre, right) = (bandEdges[band], bandEdges[band + 1], bandEdges[band + 2])
            for bin in 0..<(bins - 1) {
                let rising = (binMels[bin] - left) / (centre - left)
                let falling = (right - binMels[bin]) / (right - centre)
                filters[bin, band] = max(0, min(rising, falling))
            }
        }
        self.filters = filters
    }

    /// Samples in a 25 ms frame, and between frames (10 ms).
    static func frameSizes(sampleRate: Int) -> (length: Int, shift: Int) { (sampleRate * 25 / 1000, sampleRate / 100) }

    /// Frames of `samples` samples: one per whole 25 ms frame.
    public func frameCount(_ samples: Int) -> Int {
        samples < frameLength ? 0 : 1 + (samples - frameLength) / frameShift
    }

    /// `(frames, melBins)` log energies of `samples` (floats in [-1, 1], as ASTFeatureExtractor
    /// passes them), at most `maximumFrames` of them.
    public func callAsFunction(_ samples: [Float], maximumFrames: Int = .max) -> Matrix {
        let frames = min(frameCount(samples.count), maximumFrames)
        let bins = paddedLength / 2 + 1
        guard frames > 0 else { return Matrix(zeros: 0, melBins) }

        // Each frame less its mean, pre-emphasised (the first sample against itself), windowed,
        // zero-padded: its power spectrum.
        var power = Matrix(zeros: frames, bins)
        var frameValues = [Double](repeating: 0, count: paddedLength)
        for frame in 0..<frames {
            let start = frame * frameShift
            var mean = 0.0
            for n in 0..<frameLength { mean += Double(samples[start + n]) }
            mean /= Double(frameLength)
            var previous = Double(samples[start]) - mean
            for n in 0..<frameLength {
                let value = Double(samples[start + n]) - mean
                frameValues[n] = (value - Self.preemphasis * previous) * window[n]
                previous = value
            }
            let spectrum = fft.power(frameValues)
            for k in 0..<bins { power.data[frame * bins + k] = Float(spectrum[k]) }
        }

        // (frames, bins) @ (bins, melBins), then the floored log.
        var energies = Matrix(zeros: frames, melBins)
        power.data.withUnsafeBufferPointer { a in
            filters.data.withUnsafeBufferPointer { b in
                energies.data.withUnsafeMutableBufferPointer { c in
                    BLAS.parallelGemm(
                        m: frames, n: melBins, k: bins, a: a.baseAddress!, lda: bins,
                        b: b.baseAddress!, ldb: melBins, transposeB: false, c: c.baseAddress!, ldc: melBins)
                }
            }
        }
        for index in energies.data.indices { energies.data[index] = log(max(energies.data[index], Self.energyFloor)) }
        return energies
    }
}

/// The power spectrum `|X_k|^2`, k = 0 ... size / 2, of a real signal whose length is a power of
/// two: an iterative radix-2 FFT in Double.
struct RealFFT: Sendable {
    let size: Int
    /// `cos` and `sin` of `2πk / size` for k < size / 2.
    private let cosines: [Double]
    private let sines: [Double]
    /// Where each input index goes in bit-reversed order.
    private let reversed: [Int]

    init(size: Int) {
        precondition(size >= 2 && size & (size - 1) == 0, "RealFFT needs a power of two")
        self.size = size
        cosines = (0..<(size / 2)).map { cos(2 * Double.pi * Double($0) / Double(size)) }
        sines = (0..<(size / 2)).map { sin(2 * Double.pi * Double($0) / Double(size)) }
        let bits = size.trailingZeroBitCount
        reversed = (0..<size).map { index in
            var result = 0
            for bit in 0..<bits where index & (1 << bit) != 0 { result |= 1 << (bits - 1 - bit) }
            return result
        }
    }

    /// `(size / 2 + 1,)` powers of `signal` (`size` values).
    func power(_ signal: [Double]) -> [Double] {
        var real = [Double](repeating: 0, count: size)
        var imaginary = [Double](repeating: 0, count: size)
        for index in 0..<size { real[reversed[index]] = signal[index] }
        var half = 1
        while half < size {
            let step = size / (2 * half)
            for start in stride(from: 0, to: size, by: 2 * half) {
                for k in 0..<half {
                    let (c, s) = (cosines[k * step], -sines[k * step])
                    let (i, j) = (start + k, start + k + half)
                    let tr = real[j] * c - imaginary[j] * s
                    let ti = real[j] * s + imaginary[j] * c
                    (real[j], imaginary[j]) = (real[i] - tr, imaginary[i] - ti)
                    (real[i], imaginary[i]) = (real[i] + tr, imaginary[i] + ti)
                }
            }
            half *= 2
        }
        return (0...(size / 2)).map { real[$0] * real[$0] + imaginary[$0] * imaginary[$0] }
    }
}
