import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Inputs that crashed a fuzz target (scripts/qa/fuzz.sh) before the fix named beside each; every one
/// must now be refused with an error, or read, never crash. Small inputs are inline; larger ones
/// are files in Tests/Fixtures/fuzz-regressions/.
@Suite struct FuzzRegressionTests {
    /// config.json / preprocessor_config.json (FuzzConfig): integer overflow or a Double-to-Int trap
    /// in the frame arithmetic and the window plan.
    @Test(arguments: [
        // The strides' product overflowed in samplesPerFrame.
        (
            #"{"conv_stride":[9999999999,9999999999,9999999999],"conv_kernel":[1,1,1],"conv_dim":[1,1,1]}"#,
            "conv_stride"
        ),
        // The receptive field overflowed.
        (
            #"{"conv_kernel":[9223372036854775807,2],"conv_stride":[1,9223372036854775807],"conv_dim":[1,1]}"#,
            "conv_stride"
        ),
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
            _ = try Wav2Vec2FeatureExtractor(json: Data(#"{"sampling_rate": 999999999999999999}"#.utf8), path: "p.json")
        } throws: { error in
            guard case ModelError.invalidConfig(_, "sampling_rate", _) = error else { return false }
            return true
        }
        let highest = try? Wav2Vec2FeatureExtractor(json: Data(#"{"sampling_rate": 1000000}"#.utf8), path: "p.json")
        #expect(
            highest.map { WindowPlan(config: Wav2Vec2Config(), sampleRate: $0.samplingRate).maximumWindowSamples }
                != nil)
    }

    /// MP3 through a pipe (FuzzAudio): libsndfile 1.2's pipe reads ran past a heap buffer while
    /// mpg123 probed the format, for the fuzzer's input and the unmodified fixture alike
    /// (AddressSanitizer). MP3 from a pipe is now read into memory and opened there.
    @Test(arguments: ["fuzz-regressions/mp3-through-a-pipe.mp3", "audio/stereo.mp3"])
    func mp3ThroughAPipeIsOpenedFromMemory(_ name: String) throws {
        let bytes = try Data(contentsOf: Fixtures.root.appendingPathComponent(name))
        try #require(bytes.count <= 1 << 16)  // fits the pipe: written before it is read
        let readEnd = try pipeHolding(bytes)
        defer { close(readEnd) }
        #expect(PipePeek.classify(readEnd) == .needsMemory)
        if let file = try? AudioFile(descriptor: readEnd, name: "-"),
            let stream = try? AudioStream(file: file, sampleRate: 16_000)
        {
            while let block = try? stream.next(), !block.isEmpty {}
        }
    }

    /// An empty config file (FuzzWhisperConfig): Foundation leaked a 4 KiB buffer reading it
    /// (LeakSanitizer, under scripts/qa/sanitizers.sh); an empty file is now read without it, and
    /// refused as JSON as before.
    @Test func anEmptyConfigIsRefusedWithoutALeak() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("config.json").path
            #expect(FileManager.default.createFile(atPath: path, contents: Data()))
            #expect(fileContents(atPath: path) == Data())
            #expect(fileContents(atPath: directory.appendingPathComponent("missing.json").path) == nil)
            for load in [{ _ = try WhisperConfig(contentsOf: path) }, { _ = try Wav2Vec2Config(contentsOf: path) }] {
                #expect {
                    try load()
                } throws: { error in
                    guard case ModelError.malformedJSON(path, _) = error else { return false }
                    return true
                }
            }
        }
    }

    /// Whisper's preprocessor_config.json (read in the front end, confirmed with FuzzWhisperConfig):
    /// an n_fft of 10^9 sized an 8 GB FFT window and 10^8 mel bins an 80 GB filter bank, which
    /// stopped the process when the model loaded. Both are now bounded; n_fft to 4096 since an
    /// n_fft of 59,999 (well under the first bound) still asked for a 14 GB DFT basis. A
    /// hop_length longer than the window trapped (a loop stepping by 0 frames).
    @Test(arguments: [
        (#"{"n_fft": 1000000000, "sampling_rate": 16000, "chunk_length": 100000}"#, "n_fft"),
        (#"{"feature_size": 149, "n_fft": 59999, "holeth": 160, "chunk_lgngth": 30}"#, "n_fft"),
        // A hop longer than the window: no frames, and a spectrogram loop that stepped by 0 frames.
        (#"{"Aeaaue_sizen_fft": 2042949672960, "hop_length":314294967296}"#, "hop_length"),
        (#"{"feature_size": 100000000}"#, "feature_size"),
    ])
    func whisperFrontEndSizesAreBounded(_ json: String, _ field: String) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("preprocessor_config.json").path
            #expect(FileManager.default.createFile(atPath: path, contents: Data(json.utf8)))
            #expect {
                _ = try WhisperFeatureExtractor(contentsOf: path)
            } throws: { error in
                guard case ModelError.invalidConfig(_, let found, _) = error else { return false }
                return found == field
            }
        }
    }

    /// A front end that does not fit the model (read from the tiny fixture checkpoint with its
    /// preprocessor_config.json changed) is named, not run: other mel bins, or another window
    /// length in frames (a hop_length of 1 would also make a log-mel 160 times the size).
    @Test(arguments: [
        (#"{"feature_size": 128}"#, "feature_size"),
        (#"{"hop_length": 1}"#, "hop_length"),
        (#"{"chunk_length": 20}"#, "hop_length"),
    ])
    func aFrontEndThatDoesNotFitTheModelIsNamed(_ json: String, _ field: String) throws {
        try withTemporaryDirectory { directory in
            let copy = directory.appendingPathComponent("tiny-en")
            try FileManager.default.copyItem(at: Fixtures.whisperModel("tiny-en"), to: copy)
            try Data(json.utf8).write(to: copy.appendingPathComponent("preprocessor_config.json"))
            #expect {
                _ = try WhisperRecognizer(directory: ModelDirectory(path: copy.path))
            } throws: { error in
                guard case ModelError.invalidConfig(let path, let found, _) = error else { return false }
                return found == field && path.hasSuffix("/preprocessor_config.json")
            }
        }
    }
}
