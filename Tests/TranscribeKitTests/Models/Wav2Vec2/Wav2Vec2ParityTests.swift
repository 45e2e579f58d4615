import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// The Swift engine against what transformers computes (scripts/fixtures/make-wav2vec2-fixtures.py) for every tiny
/// checkpoint and every speech clip.
///
/// Tolerance: |Δ log-prob| <= 1e-4 × the frame's logit spread (max - min of the reference
/// log-probs, which equals that of the logits), taken over the whole clip. Both sides compute in
/// float32 from the same stored weights, so the only differences are summation order and
/// transcendental rounding: float32's 1.2e-7 relative error grown over a few layers of sums of
/// tens to hundreds of terms stays around 1e-6 relative; 1e-4 leaves room for that while any real
/// mistake (an epsilon, an activation variant, a dropped frame) moves values by 1e-3 or more.
@Suite struct ParityTests {
    static let relativeTolerance: Float = 1e-4

    struct Case: CustomTestStringConvertible, Sendable {
        let model: String
        let clip: String
        var testDescription: String { "\(model) / \(clip)" }
    }

    static let cases = Fixtures.modelNames.flatMap { model in Fixtures.clipNames.map { Case(model: model, clip: $0) } }

    struct Reference: Decodable {
        let frames: Int
        let argmax: [Int]
        /// Greedy CTC over the reference argmax: repeats collapsed, then blanks and specials dropped.
        let transcript_ctc: String
        /// What `pipeline("automatic-speech-recognition")` prints: `decode(skip_special_tokens=False)`,
        /// which leaves `<s>`, `</s>` and `<unk>` in the text as literal strings.
        let transcript_pipeline: String

        /// The pipeline's text with the special tokens' spellings removed and spaces collapsed.
        var pipelineWithoutSpecials: String {
            var text = transcript_pipeline
            for special in ["<s>", "</s>", "<unk>"] { text = text.replacingOccurrences(of: special, with: "") }
            return text.split(separator: " ").joined(separator: " ")
        }
    }

    @Test func fixturesArePresent() {
        #expect(Fixtures.modelNames.count >= 4, "run scripts/fixtures/make-wav2vec2-fixtures.py")
        #expect(Fixtures.clipNames.count >= 4, "run scripts/fixtures/make-wav2vec2-fixtures.py")
    }

    @Test(arguments: cases)
    func matchesTransformers(_ testCase: Case) throws {
        let directory = Fixtures.models.appendingPathComponent(testCase.model)
        let references = try JSONDecoder().decode(
            [String: Reference].self,
            from: Data(contentsOf: directory.appendingPathComponent("reference/transcripts.json")))
        let reference = try #require(references[testCase.clip])
        let expected = try #require(
            Npy.decode(Data(contentsOf: directory.appendingPathComponent("reference/\(testCase.clip).logprobs.npy"))))

        let transcriber = try Wav2Vec2Recognizer(directory: Fixtures.model(testCase.model))
        let result = try transcriber.transcribe(file: Fixtures.clip(testCase.clip))
        let actual = result.logProbs

        try #require(actual.rows == reference.frames && expected.rows == reference.frames)
        try #require(actual.cols == expected.cols)

        var spread: Float = 0
        var maxDifference: Float = 0
        for frame in 0..<expected.rows {
            let row = expected.row(frame)
            spread = max(spread, row.max()! - row.min()!)
            for (a, b) in zip(actual.row(frame), row) { maxDifference = max(maxDifference, abs(a - b)) }
        }
        let tolerance = Self.relativeTolerance * spread
        #expect(maxDifference <= tolerance, "max |Δ log-prob| \(maxDifference) > \(tolerance) (spread \(spread))")

        // The greedy path agrees wherever the reference's top two are further apart than the tolerance.
        let path = transcriber.decoder.bestPath(actual)
        var decisiveFrames = 0
        for frame in 0..<expected.rows {
            let sorted = expected.row(frame).sorted(by: >)
            guard sorted[0] - sorted[1] > tolerance else { continue }
            decisiveFrames += 1
            #expect(path[frame] == reference.argmax[frame], "frame \(frame)")
        }
        #expect(decisiveFrames > expected.rows / 2)
        #expect(result.text == reference.transcript_ctc)
        #expect(result.text == reference.pipelineWithoutSpecials)
    }
}

/// The input normalisation against Wav2Vec2FeatureExtractor's output for the same samples.
@Suite struct FeatureExtractorParityTests {
    @Test(arguments: Fixtures.clipNames)
    func normalisesAsTransformers(_ clip: String) throws {
        let expected = try #require(
            Npy.decodeVector(Data(contentsOf: Fixtures.speech.appendingPathComponent("\(clip).input_values.npy"))))
        let actual = Wav2Vec2FeatureExtractor().inputValues(
            try loadAudio(path: Fixtures.clip(clip), sampleRate: 16_000))
        try #require(actual.count == expected.count)
        let difference = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        // float32 numpy mean/var against double sums here: a few ulps of values of order 1-10.
        #expect(difference < 1e-5)
    }
}

/// Each stage of the model against transformers' intermediate outputs for the `short` clip, so a
/// parity failure points at the layer that caused it.
@Suite struct StageParityTests {
    @Test(arguments: Fixtures.modelNames)
    func stagesMatchTransformers(_ name: String) throws {
        let reference = Fixtures.models.appendingPathComponent("\(name)/reference")
        func expected(_ stage: String) throws -> Matrix {
            try #require(Npy.decode(Data(contentsOf: reference.appendingPathComponent("short.\(stage).npy"))))
        }
        func expectClose(_ actual: Matrix, _ stage: String) throws {
            let target = try expected(stage)
            try #require(actual.rows == target.rows && actual.cols == target.cols, "\(stage) shape")
            let scale = target.data.map(abs).max() ?? 1
            let difference = zip(actual.data, target.data).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-4 * max(scale, 1), "\(stage): max |Δ| \(difference), scale \(scale)")
        }

        let transcriber = try Wav2Vec2Recognizer(directory: Fixtures.model(name))
        let model = transcriber.model
        let input = transcriber.featureExtractor.inputValues(
            try loadAudio(path: Fixtures.clip("short"), sampleRate: 16_000))
        let features = model.wav2vec2.featureExtractor(input)
        try expectClose(features, "conv_features")
        let projected = model.wav2vec2.featureProjection(features)
        try expectClose(projected, "feature_projection")
        try expectClose(model.wav2vec2.encoder.posConvEmbed(projected), "pos_conv_embed")
        try expectClose(model.wav2vec2.encoder(projected), "encoder")
    }
}
