import Foundation
import Testing

@testable import TranscribeKit

/// Inputs that crashed a fuzz target (scripts/fuzz.sh) before the fix named beside each; every one
/// must now be refused with an error, or read, never crash. Small inputs are inline; larger ones
/// are files in Tests/Fixtures/fuzz-regressions/.
@Suite struct FuzzRegressionTests {
    /// config.json / preprocessor_config.json (FuzzConfig): integer overflow or a Double-to-Int trap
    /// in the frame arithmetic and the window plan.
    @Test(arguments: [
        // The strides' product overflowed in samplesPerFrame.
        (#"{"conv_stride":[9999999999,9999999999,9999999999],"conv_kernel":[1,1,1],"conv_dim":[1,1,1]}"#, "conv_stride"),
        // The receptive field overflowed.
        (#"{"conv_kernel":[9223372036854775807,2],"conv_stride":[1,9223372036854775807],"conv_dim":[1,1]}"#, "conv_stride"),
        (#"{"conv_kernel":[9223372036854775807,2],"conv_stride":[1,2],"conv_dim":[1,1]}"#, "conv_kernel"),
    ])
    func configArithmeticIsBounded(_ json: String, _ field: String) throws {
        #expect {
            _ = try Wav2Vec2Config(json: Data(json.utf8), path: "config.json")
        } throws: { error in
            guard case ModelError.invalidConfig(_, let found, _) = error else { return false }
            return found == field
        }
    }

    /// 30 s at this rate did not fit an Int when the window plan was made.
    @Test func samplingRateIsBounded() {
        #expect {
            _ = try PreprocessorConfig(json: Data(#"{"sampling_rate": 999999999999999999}"#.utf8), path: "p.json")
        } throws: { error in
            guard case ModelError.invalidConfig(_, "sampling_rate", _) = error else { return false }
            return true
        }
        let highest = try? PreprocessorConfig(json: Data(#"{"sampling_rate": 1000000}"#.utf8), path: "p.json")
        #expect(highest.map { WindowPlan(config: Wav2Vec2Config(), sampleRate: $0.samplingRate).maximumWindowSamples } != nil)
    }
}
