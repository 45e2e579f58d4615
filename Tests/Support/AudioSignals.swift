import Foundation

/// The signal scripts/fixtures/make-audio-fixtures.sh writes to Tests/Fixtures/audio/, computed here
/// from the same formula so tests have an expectation that does not come from libsndfile.
package enum AudioFixture {
    package static let directory = Fixtures.root.appendingPathComponent("audio")

    package static let sampleRate = 44_100
    package static let frames = 8_820  // 0.2 s

    package static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// The chirp both channels share: 200 Hz -> 4 kHz across the 0.2 s.
    package static func sweep(_ t: Double) -> Double {
        0.2 * sin(2 * .pi * (200 * t + (4000 - 200) / (2 * 0.2) * t * t))
    }
    package static func left(_ t: Double) -> Double { 0.4 * sin(2 * .pi * 440 * t) + sweep(t) }
    package static func right(_ t: Double) -> Double { 0.4 * sin(2 * .pi * 1000 * t) + sweep(t) }

    /// (frames,) the average of the two channels.
    package static var mono: [Float] {
        (0..<frames).map { n in
            let t = Double(n) / Double(sampleRate)
            return Float((left(t) + right(t)) / 2)
        }
    }
}

/// (n,) samples of amplitude * sin(2π frequency t) at `sampleRate` Hz.
package func sine(frequency: Double, amplitude: Float, sampleRate: Int, count: Int) -> [Float] {
    (0..<count).map { n in
        amplitude * Float(sin(2 * .pi * frequency * Double(n) / Double(sampleRate)))
    }
}

package func rms(_ x: ArraySlice<Float>) -> Double {
    (x.reduce(0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
}

/// Frequency in Hz from the first and last upward zero crossings, interpolated between samples.
package func zeroCrossingFrequency(_ x: ArraySlice<Float>, sampleRate: Int) -> Double {
    var crossings: [Double] = []
    for i in x.indices.dropLast() where x[i] < 0 && x[i + 1] >= 0 {
        crossings.append(Double(i) + Double(x[i] / (x[i] - x[i + 1])))
    }
    guard let first = crossings.first, let last = crossings.last, last > first else { return 0 }
    return Double(crossings.count - 1) / (last - first) * Double(sampleRate)
}

/// How far `x` is from a pure tone at `frequency` Hz, in dB: the energy left after
/// subtracting the least-squares fit a sin + b cos, relative to the energy of `x`.
package func residualAfterSineFit(_ x: ArraySlice<Float>, frequency: Double, sampleRate: Int) -> Double {
    let omega = 2 * .pi * frequency / Double(sampleRate)
    var (ss, cc, sc, xs, xc, xx) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    for (n, sample) in zip(0..., x) {
        let (s, c, v) = (sin(omega * Double(n)), cos(omega * Double(n)), Double(sample))
        (ss, cc, sc) = (ss + s * s, cc + c * c, sc + s * c)
        (xs, xc, xx) = (xs + v * s, xc + v * c, xx + v * v)
    }
    // Normal equations [ss sc; sc cc] [a; b] = [xs; xc]; residual = xx - (a xs + b xc).
    let determinant = ss * cc - sc * sc
    let a = (xs * cc - xc * sc) / determinant
    let b = (xc * ss - xs * sc) / determinant
    return 10 * log10(max(xx - (a * xs + b * xc), 0) / xx)
}

/// The shift within ±maxLag (decoded[n + lag] ~ reference[n]) that maximises the normalised
/// cross-correlation over the window reference[maxLag ..< count - maxLag], and that correlation.
package func bestAlignment(
    _ decoded: [Float], _ reference: [Float], maxLag: Int
) -> (lag: Int, correlation: Double) {
    let window = maxLag..<(reference.count - maxLag)
    guard !window.isEmpty, decoded.count >= reference.count else { return (0, 0) }
    return decoded.withUnsafeBufferPointer { y in
        reference.withUnsafeBufferPointer { x in
            var best = (lag: 0, correlation: -Double.infinity)
            for lag in -maxLag...maxLag {
                var (xy, xx, yy): (Float, Float, Float) = (0, 0, 0)
                for n in window {
                    xy += x[n] * y[n + lag]
                    xx += x[n] * x[n]
                    yy += y[n + lag] * y[n + lag]
                }
                let correlation = Double(xy) / Double(xx * yy).squareRoot()
                if correlation > best.correlation { best = (lag, correlation) }
            }
            return best
        }
    }
}

/// A canonical WAV: a 16-byte `fmt ` chunk (format 1 = PCM, 3 = IEEE float) and a `data`
/// chunk whose header may claim more bytes than follow.
package func wavBytes(
    format: UInt16, channels: UInt16, sampleRate: UInt32, bitsPerSample: UInt16,
    payload: [UInt8], claimedDataSize: UInt32? = nil
) -> Data {
    var data = Data()
    func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
    let blockAlign = channels * bitsPerSample / 8
    data.append(contentsOf: Array("RIFF".utf8))
    append(UInt32(36 + payload.count))
    data.append(contentsOf: Array("WAVEfmt ".utf8))
    append(UInt32(16))
    append(format)
    append(channels)
    append(sampleRate)
    append(sampleRate &* UInt32(blockAlign))
    append(blockAlign)
    append(bitsPerSample)
    data.append(contentsOf: Array("data".utf8))
    append(claimedDataSize ?? UInt32(payload.count))
    data.append(contentsOf: payload)
    return data
}

/// Little-endian bytes of `values` (Float32 or Int16 samples).
package func littleEndianBytes<T: BitwiseCopyable>(_ values: [T]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
}
