import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Resampling to the model's 16 kHz keeps pitch and level, and leaves same-rate audio alone.
@Suite struct AudioResamplerTests {
    static let modelRate = 16_000

    /// One second of 1 kHz at 0.5 from each rate gives 16 000 samples: the tone within 0.05 %
    /// (a wrong ratio moves it by several percent), RMS within 1 %, and nothing else: what is
    /// left after fitting a 1 kHz sine is below -100 dB (the medium sinc converter reaches about
    /// -122 dB, the best one -146 dB; a zero-order hold or linear interpolator leaves images far
    /// above that).
    /// The first and last 1000 samples hold the filter's edges and are not measured.
    @Test(arguments: [8_000, 22_050, 44_100, 48_000])
    func resampledSineKeepsFrequencyAndLevel(sourceRate: Int) throws {
        let (frequency, amplitude): (Double, Float) = (1_000, 0.5)
        let tone = sine(
            frequency: frequency, amplitude: amplitude, sampleRate: sourceRate, count: sourceRate)
        let output = try resample(tone, from: sourceRate, to: Self.modelRate)
        #expect(abs(output.count - Self.modelRate) <= 1)

        let middle = output[1_000..<(output.count - 1_000)]
        let measured = zeroCrossingFrequency(middle, sampleRate: Self.modelRate)
        #expect(abs(measured - frequency) < frequency * 0.0005)
        let expectedRMS = Double(amplitude) / 2.squareRoot()
        #expect(abs(rms(middle) - expectedRMS) < expectedRMS * 0.01)
        #expect(
            residualAfterSineFit(middle, frequency: frequency, sampleRate: Self.modelRate) < -100)
    }

    @Test func sameRatePassesThroughUntouched() throws {
        var samples = sine(frequency: 440, amplitude: 0.3, sampleRate: Self.modelRate, count: 4_000)
        samples += [.nan, -0.0, .leastNonzeroMagnitude, .infinity]
        let output = try resample(samples, from: Self.modelRate, to: Self.modelRate)
        #expect(output.map(\.bitPattern) == samples.map(\.bitPattern))
    }

    @Test func emptyInputGivesEmptyOutput() throws {
        #expect(try resample([], from: 44_100, to: Self.modelRate).isEmpty)
    }

    /// libsamplerate converts ratios in [1/256, 256]; beyond that, and for rates <= 0,
    /// it says why instead of trapping.
    @Test(arguments: [
        (16_000, 16_000 * 257), (16_000 * 257, 16_000), (0, 16_000), (16_000, 0), (-8_000, 16_000),
    ])
    func unsupportedRatioThrowsLibsamplerateReason(from source: Int, to target: Int) {
        let error = #expect(throws: ResamplerError.self) {
            try resample([0.1, 0.2, 0.3], from: source, to: target)
        }
        #expect(error?.reason == "SRC ratio outside [1/256, 256] range.")
        #expect(
            error?.description.hasPrefix("cannot resample from \(source) Hz to \(target) Hz: ")
                == true)
    }

    /// The fixture's 0.2 s at 44.1 kHz comes out as 3200 samples at 16 kHz, at the same level.
    @Test func loadAudioReturnsMonoAtModelRate() throws {
        let path = AudioFixture.path("stereo-f32.wav")
        let samples = try loadAudio(path: path, sampleRate: Self.modelRate)
        #expect(samples.count == AudioFixture.frames * Self.modelRate / AudioFixture.sampleRate)
        let level = rms(samples[...]) / rms(AudioFixture.mono[...])
        #expect(abs(level - 1) < 0.01)
    }

    @Test func loadAudioNamesThePathWhenResamplingFails() {
        let path = AudioFixture.path("stereo-f32.wav")
        let error = #expect(throws: AudioError.self) {
            try loadAudio(path: path, sampleRate: 1)
        }
        let reason = "SRC ratio outside [1/256, 256] range."
        #expect(error == .cannotResample(path: path, from: 44_100, to: 1, reason: reason))
    }
}
