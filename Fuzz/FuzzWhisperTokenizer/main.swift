// libFuzzer entry point: bytes as a Whisper tokenizer.json (or, after a NUL byte, as vocab.json then
// added_tokens.json), loaded as the model loader does, then ids from the same bytes decoded.
// Seeds: scripts/qa/make-fuzz-corpus.py.
import Foundation
import FuzzSupport

@testable import TranscribeKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWhisperTokenizer(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    for name in ["tokenizer.json", "vocab.json", "added_tokens.json"] {
        unlink(scratchDirectory + "/" + name)
    }
    if let split = input.firstIndex(of: 0) {
        _ = scratchFile("vocab.json", UnsafeBufferPointer(rebasing: input[..<split]))
        _ = scratchFile("added_tokens.json", UnsafeBufferPointer(rebasing: input[(split + 1)...]))
    } else {
        _ = scratchFile("tokenizer.json", input)
    }
    guard let tokenizer = try? WhisperTokenizer(directory: ModelDirectory(path: scratchDirectory)) else { return 0 }
    let ids = input.map { Int($0) * 7 } + [-1, Int.max, WhisperTokenizer.idLimit]
    blackHole(tokenizer.decode(ids))
    for id in ids.prefix(64) {
        blackHole(tokenizer.bytes(of: id))
        blackHole(tokenizer.isSpecial(id))
        blackHole(tokenizer.token(of: id))
    }
    return 0
}

/// SwiftPM links an executable target's entry point as `FuzzWhisperTokenizer_main`; this one hands over to libFuzzer.
@_cdecl("FuzzWhisperTokenizer_main")
func fuzzWhisperTokenizerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    blackHole(scratchDirectory)  // made before fuzzing, not inside an input
    return runLibFuzzer(argc, argv, fuzzWhisperTokenizer)
}
