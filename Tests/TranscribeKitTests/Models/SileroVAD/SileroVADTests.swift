import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Silero VAD v6, native, against onnxruntime on the very ONNX file it was converted from, and
/// its speech regions against faster-whisper 1.2.1's `get_speech_timestamps`:
/// Tests/Fixtures/vad/silero-vad-reference.json, made by scripts/fixtures/make-vad-reference.py
/// from every recording of ../shared/samples and the sox-made clips of Tests/Fixtures/vad/clips
/// (noise at two levels, hum, chords, clicks, silence), decoded exactly as this tool decodes them.
@Suite(
    .enabled(
        if: TestEnvironment.runs(needing: SharedSamples.available),
        "../shared/samples is absent: real-recording tests skipped"))
struct SileroVADTests {
    struct Reference: Decodable {
        struct OptionSet: Decodable {
            let threshold: Double
            let neg_threshold: Double?
            let min_speech_duration_ms: Int
            let max_speech_duration_s: Double?
            let min_silence_duration_ms: Int
            let speech_pad_ms: Int

            var options: SpeechRegionOptions {
                var options = SpeechRegionOptions()
                options.threshold = threshold
                options.negativeThreshold = neg_threshold
                options.minimumSpeechMilliseconds = min_speech_duration_ms
                options.maximumSpeechSeconds = max_speech_duration_s ?? .infinity
                options.minimumSilenceMilliseconds = min_silence_duration_ms
                options.speechPadMilliseconds = speech_pad_ms
                return options
            }
        }
        struct Input: Decodable, CustomStringConvertible {
            let file: String
            let samples: Int
            let probabilities: [Float]
            let speech: [String: [[Int]]]
            /// Per option set: how close the nearest probability comes to a threshold.
            let margin: [String: Double]
            var description: String { file }
        }
        let option_sets: [String: OptionSet]
        let inputs: [Input]
    }

    static let reference: Reference = {
        let url = Fixtures.root.appendingPathComponent("vad/silero-vad-reference.json")
        guard let data = try? Data(contentsOf: url),
            let reference = try? JSONDecoder().decode(Reference.self, from: data)
        else { return Reference(option_sets: [:], inputs: []) }
        return reference
    }()

    static let modelPath = Fixtures.packageRoot.appendingPathComponent("Models/silero-vad-v6").path

    static func detector() throws -> SileroVAD {
        guard FileManager.default.fileExists(atPath: modelPath + "/model.safetensors") else {
            throw TestFailure("\(modelPath) is missing: run scripts/install-vad.sh")
        }
        return try SileroVAD(directory: ModelDirectory(path: modelPath))
    }

    /// A reference input's path: a shared sample or a clip of Tests/Fixtures/vad.
    static func path(_ input: Reference.Input) -> String {
        let (folder, name) = (input.file.split(separator: "/").first!, input.file.split(separator: "/").last!)
        return folder == "samples"
            ? Fixtures.sharedSamples.appendingPathComponent(String(name)).path
            : Fixtures.root.appendingPathComponent("vad/clips/\(name)").path
    }

    /// The input through the filter, read in blocks as the tool reads it.
    static func filtered(_ input: Reference.Input, options: SpeechRegionOptions = SpeechRegionOptions()) throws -> (
        filter: SpeechFilter, speech: [Float]
    ) {
        let filter = SpeechFilter(
            source: try AudioStream(path: path(input), sampleRate: 16_000), detector: try detector(), options: options)
        var speech: [Float] = []
        while true {
            let block = try filter.next()
            if block.isEmpty { break }
            speech += block
        }
        return (filter, speech)
    }

    @Test func theReferenceCoversTheSamplesAndTheClips() throws {
        try TestEnvironment.requireSharedSamples()
        #expect(Self.reference.inputs.filter { $0.file.hasPrefix("samples/") }.count == SharedSamples.rows.count)
        #expect(Self.reference.inputs.filter { $0.file.hasPrefix("clips/") }.count >= 10)
        #expect(Self.reference.option_sets.count >= 6)
    }

    /// Every chunk's probability within 1e-4 of onnxruntime's, the zero-padded last chunk included.
    @Test(arguments: reference.inputs)
    func probabilitiesEqualOnnxRuntime(_ input: Reference.Input) throws {
        let (filter, _) = try Self.filtered(input)
        #expect(filter.inputSamples == input.samples, "decoded a different length than the reference")
        #expect(filter.probabilities.count == input.probabilities.count)
        let difference = zip(filter.probabilities, input.probabilities).map { abs($0 - $1) }.max() ?? 0
        #expect(difference < 1e-4, "largest difference \(difference)")
    }

    /// The region algorithm alone, fed the reference's probabilities: every option set's regions
    /// exactly as get_speech_timestamps gives them (splits at the last silence, hard cuts, short
    /// regions dropped, padding shared across short gaps).
    @Test(arguments: reference.inputs)
    func regionsFromTheReferenceProbabilitiesEqualFasterWhisper(_ input: Reference.Input) {
        for (name, set) in Self.reference.option_sets {
            var tracker = SpeechRegionTracker(options: set.options)
            var regions: [SpeechRegion] = []
            for probability in input.probabilities { regions += tracker.append(probability) }
            regions += tracker.finish(length: input.samples)
            let expected = (input.speech[name] ?? []).map { SpeechRegion(start: $0[0], end: $0[1]) }
            #expect(regions == expected, "option set \(name)")
        }
    }

    /// End to end, streaming: the regions from this tool's own probabilities, and the speech it
    /// hands on is exactly the input's samples in those regions, end to end.
    @Test(arguments: reference.inputs)
    func theFilterHandsOnExactlyTheSpeech(_ input: Reference.Input) throws {
        let audio = try loadAudio(path: Self.path(input), sampleRate: 16_000)
        for name in ["default", "batched", "max_speech_2s"] {
            let set = try #require(Self.reference.option_sets[name])
            let (filter, speech) = try Self.filtered(input, options: set.options)
            let expected = (input.speech[name] ?? []).map { SpeechRegion(start: $0[0], end: $0[1]) }
            // A probability within the tool's own error of a threshold could fall either side.
            if (input.margin[name] ?? 1) > 1e-4 {
                #expect(filter.regions == expected, "option set \(name)")
            }
            #expect(speech == filter.regions.flatMap { audio[$0.start..<$0.end] }, "option set \(name)")
        }
    }

    @Test func noClipIsSpeech() throws {
        for input in Self.reference.inputs where input.file.hasPrefix("clips/") {
            let (filter, speech) = try Self.filtered(input)
            #expect(filter.regions.isEmpty && speech.isEmpty, "\(input.file)")
        }
    }

    /// Times on the speech-only audio back on the input's timeline, as faster-whisper's
    /// SpeechTimestampsMap does: by the region a time falls in, a region's end staying in it with
    /// `isEnd`, rounded to 10 ms.
    @Test func timesAreMovedBackPastTheSilenceRemoved() {
        // Speech at 1-3 s and 10-11.5 s: 1 s of silence before the first, 7 s more before the second.
        let timeline = SpeechTimeline(
            regions: [SpeechRegion(start: 16_000, end: 48_000), SpeechRegion(start: 160_000, end: 184_000)],
            sampleRate: 16_000)
        #expect(timeline.speechSeconds == 3.5)
        #expect(timeline.originalTime(0) == 1)
        #expect(timeline.originalTime(1.234) == 2.23)
        #expect(timeline.originalTime(2.5) == 10.5)
        #expect(timeline.originalTime(2.0) == 10.0)
        #expect(timeline.originalTime(2.0, isEnd: true) == 3.0)
        #expect(timeline.originalTime(9) == 17)  // past the last region: the last region's shift
        #expect(timeline.regionIndex(1.999) == 0 && timeline.regionIndex(2.0) == 1)
        #expect(roundedLikePython(2.675, digits: 2) == 2.67)  // 2.675 is 2.67499999... in binary
    }

    @Test func aDirectoryWithoutTheWeightsIsRefusedByName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(
            atPath: Self.modelPath + "/config.json", toPath: directory.appendingPathComponent("config.json").path)
        #expect(throws: ModelError.missingFile(path: directory.appendingPathComponent("model.safetensors").path)) {
            try SileroVAD(directory: ModelDirectory(path: directory.path))
        }
    }
}
