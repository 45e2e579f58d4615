import Foundation

/// `|torch.stft(x, nFFT, hopLength, window=torch.hann_window(nFFT), center=True,
/// pad_mode="reflect")|^2`, time-major: the power of every frequency bin of every frame.
///
/// `nFFT` need not be a power of two (Whisper's is 400): the DFT is one sgemm of the framed signal
/// with a basis of windowed cosines and sines, computed in Double and stored as Float.
public struct PowerSpectrogram: Sendable {
    public let nFFT: Int
    public let hopLength: Int
    /// `(2 * frequencyBins, nFFT)`: row `k` is `window[n] * cos(2πkn / nFFT)`, row
    /// `frequencyBins + k` is `window[n] * sin(2πkn / nFFT)`.
    private let basis: [Float]

    /// `1 + nFFT / 2`: the non-negative frequencies of a real signal.
    public var frequencyBins: Int { nFFT / 2 + 1 }

    /// A periodic Hann window of `nFFT` samples (`torch.hann_window(nFFT)`).
    public init(nFFT: Int, hopLength: Int) {
        precondition(nFFT > 0 && hopLength > 0, "PowerSpectrogram needs a positive nFFT and hop length")
        self.nFFT = nFFT
        self.hopLength = hopLength
        let bins = nFFT / 2 + 1
        let turn = 2 * Double.pi / Double(nFFT)
        let window = (0..<nFFT).map { 0.5 - 0.5 * cos(turn * Double($0)) }
        var basis = [Float](repeating: 0, count: 2 * bins * nFFT)
        for k in 0..<bins {
            for n in 0..<nFFT {
                // k n reduced modulo nFFT keeps the angle in [0, 2π), where cos and sin are exact to an ulp.
                let angle = turn * Double(k * n % nFFT)
                basis[k * nFFT + n] = Float(window[n] * cos(angle))
                basis[(bins + k) * nFFT + n] = Float(window[n] * sin(angle))
            }
        }
        self.basis = basis
    }

    /// Frames in the spectrogram of `samples` samples: `1 + samples / hopLength`.
    public func frameCount(_ samples: Int) -> Int { 1 + samples / hopLength }

    /// `(1 + samples.count / hopLength, frequencyBins)`. Frame `t` is centred on sample
    /// `t * hopLength`; the signal is mirrored (without repeating the edge sample) `nFFT / 2` samples
    /// beyond both ends, which needs more than `nFFT / 2` samples, as torch does.
    public func callAsFunction(_ samples: [Float]) -> Matrix {
        callAsFunction(samples, frames: 0..<frameCount(samples.count))
    }

    /// Rows `frameRange` of the spectrogram of `samples`: long inputs are computed a block of
    /// frames at a time.
    public func callAsFunction(_ samples: [Float], frames frameRange: Range<Int>) -> Matrix {
        let count = samples.count
        let half = nFFT / 2
        precondition(count > half, "reflect padding needs more than nFFT / 2 = \(half) samples, got \(count)")
        let frames = frameRange.count
        let bins = frequencyBins

        // (frames, nFFT): the windowed stretches, reflected at both ends.
        var framed = [Float](repeating: 0, count: frames * nFFT)
        samples.withUnsafeBufferPointer { x in
            framed.withUnsafeMutableBufferPointer { out in
                for frame in 0..<frames {
                    let start = (frameRange.lowerBound + frame) * hopLength - half
                    let row = out.baseAddress! + frame * nFFT
                    if start >= 0 && start + nFFT <= count {
                        row.update(from: x.baseAddress! + start, count: nFFT)
                        continue
                    }
                    for n in 0..<nFFT {
                        var index = start + n
                        if index < 0 { index = -index }
                        if index >= count { index = 2 * (count - 1) - index }
                        row[n] = x[index]
                    }
                }
            }
        }

        // (frames, nFFT) @ (2 * bins, nFFT)^T -> (frames, 2 * bins): real parts, then imaginary parts.
        var spectrum = [Float](repeating: 0, count: frames * 2 * bins)
        framed.withUnsafeBufferPointer { a in
            basis.withUnsafeBufferPointer { b in
                spectrum.withUnsafeMutableBufferPointer { c in
                    BLAS.parallelGemm(
                        m: frames, n: 2 * bins, k: nFFT,
                        a: a.baseAddress!, lda: nFFT,
                        b: b.baseAddress!, ldb: nFFT, transposeB: true,
                        c: c.baseAddress!, ldc: 2 * bins)
                }
            }
        }

        var power = Matrix(zeros: frames, bins)
        spectrum.withUnsafeBufferPointer { s in
            power.data.withUnsafeMutableBufferPointer { p in
                for frame in 0..<frames {
                    let row = s.baseAddress! + frame * 2 * bins
                    for k in 0..<bins {
                        let (real, imaginary) = (row[k], row[bins + k])
                        p[frame * bins + k] = real * real + imaginary * imaginary
                    }
                }
            }
        }
        return power
    }
}
