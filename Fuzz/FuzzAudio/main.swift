// libFuzzer entry point: bytes as an audio file in memory -> AudioFile -> AudioStream (mixdown and
// resampling to 16 kHz, block by block) -> samples, and the whole-file path DecodedAudio.
// Seeds: scripts/make-fuzz-corpus.py.
import Foundation
import FuzzSupport

@testable import TranscribeKit

/// Samples decoded per input at most: a few bytes of FLAC or Vorbis can stand for hours of silence.
private let sampleLimit = 16_000 * 120

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAudio(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    let data = Data(input)
    guard let file = try? AudioFile(data: data, name: "fuzz") else { return 0 }
    _ = file.formatDescription
    guard let stream = try? AudioStream(file: file, sampleRate: 16_000) else { return 0 }
    var produced = 0
    while produced < sampleLimit, let block = try? stream.next(), !block.isEmpty {
        produced += block.count
    }
    _ = stream.truncationWarning
    if produced < sampleLimit, let decoded = try? DecodedAudio(data: data, name: "fuzz") {
        _ = try? decoded.resampled(to: 16_000)
    }
    return 0
}

/// SwiftPM links an executable target's entry point as `FuzzAudio_main`; this one hands over to libFuzzer.
@_cdecl("FuzzAudio_main")
func fuzzAudioMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzAudio)
}
