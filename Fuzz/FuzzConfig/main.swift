// libFuzzer entry point: bytes as config.json and as preprocessor_config.json, then everything
// transcribe derives from them before it touches audio: frame geometry and the window plan.
// Seeds: scripts/qa/make-fuzz-corpus.py. (A Whisper config belongs in a folder of its own.)
import Foundation
import FuzzSupport

@testable import TranscribeKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    let json = Data(input)
    let featureExtractor = (try? Wav2Vec2FeatureExtractor(json: json, path: "fuzz")) ?? Wav2Vec2FeatureExtractor()
    _ = featureExtractor.inputValues([0.5, -0.5, 0.25])
    guard let config = try? Wav2Vec2Config(json: json, path: "fuzz") else { return 0 }
    var total = config.samplesPerFrame &+ config.receptiveField
    for samples in [0, 1, 399, 400, 16_000, 16_000 * 31, 16_000 * 3_600] {
        total = total &+ config.frameCount(samples: samples)
    }
    // What the recognizer plans for a 70 s stream at the feature extractor's rate.
    let plan = WindowPlan(config: config, sampleRate: featureExtractor.samplingRate)
    let samples = 70 * featureExtractor.samplingRate
    total = total &+ plan.samplesNeeded(keptFrom: 0) &+ plan.maximumWindowSamples
    var chunkStart = 0
    for _ in 0..<1_000 {
        guard let window = plan.window(keptFrom: chunkStart, samplesAvailable: samples, endOfInput: true),
            !window.kept.isEmpty
        else { break }
        total = total &+ window.samples.count
        chunkStart = window.kept.upperBound
    }
    blackHole(total)
    return 0
}

/// SwiftPM links an executable target's entry point as `FuzzConfig_main`; this one hands over to libFuzzer.
@_cdecl("FuzzConfig_main")
func fuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzConfig)
}
