// libFuzzer entry point: bytes as a Whisper checkpoint's config.json, generation_config.json and
// preprocessor_config.json (parsed from files, as the model loader reads them), then a second of
// audio through the log-mel front end the preprocessor config describes.
// Seeds: scripts/qa/make-fuzz-corpus.py.
import Foundation
import FuzzSupport

@testable import TranscribeKit

/// A second of a 440 Hz tone at 16 kHz.
private let tone = (0..<16_000).map { Float(sin(2 * Double.pi * 440 * Double($0) / 16_000)) * 0.5 }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWhisperConfig(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    if let config = try? WhisperConfig(contentsOf: scratchFile("config.json", input)) {
        blackHole(config.dModel / config.encoderAttentionHeads)
    }
    if let generation = try? WhisperGenerationConfig(contentsOf: scratchFile("generation_config.json", input)) {
        blackHole(generation)
    }
    if let extractor = try? WhisperFeatureExtractor(contentsOf: scratchFile("preprocessor_config.json", input)) {
        blackHole(extractor.logMel(tone).rows)
    }
    return 0
}

/// SwiftPM links an executable target's entry point as `FuzzWhisperConfig_main`; this one hands over to libFuzzer.
@_cdecl("FuzzWhisperConfig_main")
func fuzzWhisperConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    blackHole((tone.count, scratchDirectory))  // globals made before fuzzing, not inside an input
    return runLibFuzzer(argc, argv, fuzzWhisperConfig)
}
