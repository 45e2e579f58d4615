// libFuzzer entry point: bytes -> SafeTensorsFile -> every tensor as Float32 -> a tiny
// Wav2Vec2ForCTC built strictly from them and run on a few samples. Seeds: scripts/qa/make-fuzz-corpus.py.
import Foundation
import FuzzSupport

@testable import TranscribeKit

/// The config of the tiny fixture Tests/Fixtures/wav2vec2/models/large-prenorm-f16, so that a mutated copy
/// of its weights gets as far as the strict loader and the forward pass.
private let tinyConfig: Wav2Vec2Config? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return try? Wav2Vec2Config(contentsOf: root.path + "/Tests/Fixtures/wav2vec2/models/large-prenorm-f16/config.json")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    guard let file = try? SafeTensorsFile(bytes: input, name: "fuzz") else {
        return 0
    }
    var checksum: Float = 0
    for name in file.entries.keys.sorted() {
        guard let tensor = try? file.tensor(name) else { continue }
        for index in 0..<tensor.storage.count { checksum += tensor.storage[index] }
    }
    if let tinyConfig, let model = try? Wav2Vec2ForCTC(config: tinyConfig, weights: file) {
        let logits = model([Float](repeating: 0.1, count: 800))
        checksum += logits.data.reduce(0, +)
    }
    blackHole(checksum)
    return 0
}

/// SwiftPM links an executable target's entry point as `FuzzSafeTensors_main`; this one hands over to libFuzzer.
@_cdecl("FuzzSafeTensors_main")
func fuzzSafeTensorsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    blackHole(tinyConfig)  // loaded before fuzzing, not inside an input
    return runLibFuzzer(argc, argv, fuzzSafeTensors)
}
