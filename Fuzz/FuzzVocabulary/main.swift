// libFuzzer entry point: bytes are vocab.json, then (after a NUL byte, if any) tokenizer_config.json;
// the vocabulary built from them decodes a greedy path taken from the same bytes.
// Seeds: scripts/qa/make-fuzz-corpus.py. (A Whisper tokenizer belongs in a folder of its own.)
import Foundation
import FuzzSupport

@testable import TranscribeKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVocabulary(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    let bytes = input
    let split = bytes.firstIndex(of: 0)
    let vocab = Data(bytes[..<(split ?? bytes.count)])
    let tokenizerConfig = split.map { Data(bytes[($0 + 1)...]) }
    guard
        let vocabulary = try? Vocabulary(
            vocabJSON: vocab, vocabPath: "vocab.json",
            tokenizerConfigJSON: tokenizerConfig, tokenizerConfigPath: "tokenizer_config.json")
    else { return 0 }
    let decoder = CTCGreedyDecoder(vocabulary: vocabulary)
    let path = bytes.map { Int($0) % max(vocabulary.count, 1) }
    let tokens = decoder.tokens(path)
    let text = decoder.text(tokens)
    let timed = TimedTranscript(
        CTCTranscription(
            text: text, logProbs: Matrix(zeros: path.count, vocabulary.count), tokens: tokens,
            frameDuration: 0.02, duration: Double(path.count) * 0.02),
        vocabulary: vocabulary)
    blackHole(timed)
    return 0
}

/// SwiftPM links an executable target's entry point as `FuzzVocabulary_main`; this one hands over to libFuzzer.
@_cdecl("FuzzVocabulary_main")
func fuzzVocabularyMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzVocabulary)
}
