// libFuzzer entry point: bytes as an audio file in memory -> AudioFile -> AudioStream (mixdown and
// resampling to 16 kHz, block by block) -> samples; the whole-file path DecodedAudio; and the same
// bytes arriving through a pipe (AudioFile(descriptor:): sniffed with tee, decoded from the pipe or
// read into memory). Seeds: scripts/qa/make-fuzz-corpus.py.
import Foundation
import FuzzSupport

@testable import TranscribeKit

/// Samples decoded per input at most: a few bytes of FLAC or Vorbis can stand for hours of silence.
private let sampleLimit = 16_000 * 120

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAudio(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    let data = Data(input)
    if let file = try? AudioFile(data: data, name: "fuzz"), drain(file) < sampleLimit,
        let decoded = try? DecodedAudio(data: data, name: "fuzz")
    {
        _ = try? decoded.resampled(to: 16_000)
    }
    throughAPipe(data)
    return 0
}

/// Samples the file's stream gives at 16 kHz, up to `sampleLimit`.
private func drain(_ file: AudioFile) -> Int {
    _ = file.formatDescription
    guard let stream = try? AudioStream(file: file, sampleRate: 16_000) else { return 0 }
    var produced = 0
    while produced < sampleLimit, let block = try? stream.next(), !block.isEmpty {
        produced += block.count
    }
    _ = stream.truncationWarning
    return produced
}

/// `data` written into a pipe whose writer then closes (it fits the pipe's 64 KiB), read as
/// standard input would be.
private func throughAPipe(_ data: Data) {
    var ends: [Int32] = [-1, -1]
    guard data.count <= 1 << 16, pipe(&ends) == 0 else { return }
    defer { close(ends[0]) }
    _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)  // a smaller pipe takes part of it instead of blocking
    let written = data.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) }
    close(ends[1])
    guard written == data.count, let file = try? AudioFile(descriptor: ends[0], name: "-", memoryLimit: 1 << 20) else {
        return
    }
    _ = drain(file)
}

/// SwiftPM links an executable target's entry point as `FuzzAudio_main`; this one hands over to libFuzzer.
@_cdecl("FuzzAudio_main")
func fuzzAudioMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzAudio)
}
