import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Whisper against transformers on tiny random checkpoints (scripts/fixtures/make-whisper-fixtures.py):
/// the log-mel, the encoder states, the decoder's logits, and the tokens of every generate call
/// the script recorded, window by window, with the prompt transformers used.
///
/// Tolerance: max |Δ| <= 1e-4 × the reference's spread (max - min), as for the CTC models; the
/// tokens must be identical (the script only keeps seeds whose every decision clears a margin of
/// 1e-3). transformers' beam search is not checked here: it ranks and stops differently from the
/// reference algorithm this tool follows, which WhisperTinyEnTests checks against faster-whisper.
@Suite struct WhisperParityTests {
    static let relativeTolerance: Float = 1e-4
    static let models = ["tiny-en", "tiny-multilingual-128", "tiny-odd-f32"]

    struct Generate: Decodable {
        struct Window: Decodable { let seek: Int; let tokens: [Int] }
        struct Kwargs: Decodable {
            let language: String?
            let task: String?
            let return_timestamps: Bool?
            let num_beams: Int?
            let max_new_tokens: Int
        }
        struct Run: Decodable {
            let kwargs: Kwargs
            let prompt: [Int]
            let windows: [Window]
        }
        struct DetectedLanguage: Decodable { let id: Int; let token: String }
        struct Clip: Decodable {
            let logits_decoder_input_ids: [Int]
            let detected_language: DetectedLanguage?
            let runs: [String: Run]
        }
        struct Segment: Decodable { let start: Double; let end: Double; let tokens: [Int] }
        struct LongForm: Decodable {
            let clip: String
            let kwargs: Kwargs
            let sequences: [Int]
            let segments: [Segment]
        }
        let max_new_tokens: Int
        let clips: [String: Clip]
        let longform: LongForm?
    }

    static func reference(_ model: String) throws -> Generate {
        let url = Fixtures.whisperModel(model).appendingPathComponent("reference/generate.json")
        return try JSONDecoder().decode(Generate.self, from: Data(contentsOf: url))
    }

    static func transcriber(_ model: String, configure: (inout WhisperDecodingOptions) throws -> Void = { _ in }) throws
        -> WhisperRecognizer
    {
        var options = WhisperDecodingOptions()
        // transformers' generate places no words, which would move the next window's start.
        options.wordTimestamps = false
        try configure(&options)
        return try WhisperRecognizer(
            directory: ModelDirectory(path: Fixtures.whisperModel(model).path), options: options)
    }

    /// `(rows, cols)` of a reference `.npy`, transposed when `transpose` (the features are stored mel-major).
    static func npy(_ model: String, _ name: String, transpose: Bool = false) throws -> Matrix {
        let url = Fixtures.whisperModel(model).appendingPathComponent("reference/\(name).npy")
        let matrix = try #require(Npy.decode(Data(contentsOf: url)))
        guard transpose else { return matrix }
        var transposed = Matrix(zeros: matrix.cols, matrix.rows)
        for r in 0..<matrix.rows { for c in 0..<matrix.cols { transposed[c, r] = matrix[r, c] } }
        return transposed
    }

    func expectClose(_ ours: Matrix, _ reference: Matrix, _ what: String) {
        #expect(ours.rows == reference.rows && ours.cols == reference.cols, "\(what): shape")
        guard ours.rows == reference.rows && ours.cols == reference.cols else { return }
        let spread = (reference.data.max() ?? 0) - (reference.data.min() ?? 0)
        let difference = zip(ours.data, reference.data).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(difference <= Self.relativeTolerance * spread, "\(what): max |Δ| \(difference), spread \(spread)")
    }

    static let cases: [(model: String, clip: String)] = models.flatMap { model in
        ((try? reference(model))?.clips.keys.sorted() ?? []).map { (model, $0) }
    }

    @Test(arguments: cases)
    func featuresEncoderAndLogitsMatch(model: String, clip: String) throws {
        let transcriber = try Self.transcriber(model)
        let reference = try Self.reference(model)
        let features = try Self.npy(model, "\(clip).input_features", transpose: true)
        let wav = [Fixtures.speech, Fixtures.root.appendingPathComponent("whisper/speech")]
            .map { $0.appendingPathComponent("\(clip).wav").path }
            .first { FileManager.default.fileExists(atPath: $0) }
        let samples = try DecodedAudio(path: try #require(wav)).resampled(to: 16_000)
        expectClose(transcriber.featureExtractor(samples), features, "\(model)/\(clip) log-mel")

        let encoded = transcriber.model.encode(features)
        expectClose(encoded, try Self.npy(model, "\(clip).encoder"), "\(model)/\(clip) encoder")
        let tokens = try #require(reference.clips[clip]).logits_decoder_input_ids
        expectClose(
            transcriber.model.logits(tokens: tokens, encoded: encoded), try Self.npy(model, "\(clip).logits"),
            "\(model)/\(clip) logits")
    }

    /// The word alignment's token probabilities, computed a block of the vocabulary at a time,
    /// are transformers' logits' `log_softmax` over the text tokens, and the same bits at any
    /// thread count: in one block (the fixtures' 556 text tokens) and in blocks of 100, the last
    /// one short.
    @Test(arguments: cases)
    func tokenLogProbabilitiesMatchTheLogits(model: String, clip: String) throws {
        let transcriber = try Self.transcriber(model)
        let encoded = transcriber.model.encode(try Self.npy(model, "\(clip).input_features", transpose: true))
        let tokens = try #require(try Self.reference(model).clips[clip]).logits_decoder_input_ids
        let reference = try Self.npy(model, "\(clip).logits")
        let vocabulary = transcriber.specialTokens.endOfText
        let targets = tokens.indices.map { ($0 * 7919 + 13) % vocabulary }
        var caches = [transcriber.model.emptyCache()]
        let decoder = transcriber.model.decoder
        let hidden = decoder([tokens], caches: &caches, cross: transcriber.model.crossStates(encoded))
        let saved = Parallel.threads
        defer { BLAS.setThreads(saved) }
        let outputs = [(1, 2048), (1, 100), (2, 100), (3, 100)].map { threads, block in
            BLAS.setThreads(threads)
            return decoder.logProbabilities(hidden, of: targets, among: vocabulary, blockSize: block)
        }
        let spread = (reference.data.max() ?? 0) - (reference.data.min() ?? 0)
        for (row, target) in targets.enumerated() {
            let logits = reference.row(row).prefix(vocabulary).map(Double.init)
            let maximum = logits.max()!
            let expected = logits[target] - maximum - log(logits.reduce(0) { $0 + exp($1 - maximum) })
            for output in outputs.prefix(2) {
                #expect(
                    abs(output[row] - expected) <= 2 * Double(Self.relativeTolerance * spread),
                    "\(model)/\(clip) row \(row): \(output[row]) against \(expected)")
            }
        }
        for output in outputs.dropFirst(2) { #expect(output.map(\.bitPattern) == outputs[1].map(\.bitPattern)) }
    }

    @Test(arguments: cases)
    func generateGivesTheSameTokens(model: String, clip: String) throws {
        let reference = try Self.reference(model)
        let features = try Self.npy(model, "\(clip).input_features", transpose: true)
        let recorded = try #require(reference.clips[clip])
        for (name, run) in recorded.runs.sorted(by: { $0.key < $1.key }) where run.kwargs.num_beams == nil {
            let transcriber = try Self.transcriber(model) { options in
                options.beamSize = 1
                options.timestamps = run.kwargs.return_timestamps ?? false
                options.sampleLength = run.kwargs.max_new_tokens
            }
            let decoder = transcriber.windowDecoder()
            var generator = SplitMix64(seed: 0)
            for window in run.windows {
                let prompt = Array(window.tokens.prefix(run.prompt.count))
                let encoded = transcriber.model.encode(
                    zeroPadded(features, rows: window.seek..<(window.seek + features.rows)))
                let result = decoder.decode(
                    cross: transcriber.model.crossStates(encoded), prompt: prompt, sotIndex: 0, generator: &generator)
                let expected = Array(window.tokens.dropFirst(prompt.count))
                let ended = expected.last == transcriber.specialTokens.endOfText
                #expect(
                    result.tokens + (ended ? [transcriber.specialTokens.endOfText] : []) == expected,
                    "\(model)/\(clip)/\(name) at frame \(window.seek)")
            }
        }
        if let detected = recorded.detected_language {
            let transcriber = try Self.transcriber(model)
            let language = transcriber.detectLanguage(encoded: transcriber.model.encode(features))
            #expect("<|\(language)|>" == detected.token, "\(model)/\(clip)")
        }
    }

    /// The prompt built for `--language` and `--task` is transformers' for the same arguments.
    @Test(arguments: cases)
    func promptsMatchForLanguageAndTask(model: String, clip: String) throws {
        let recorded = try #require(try Self.reference(model).clips[clip])
        let tasked = recorded.runs.filter { $0.value.kwargs.task != nil }
        #expect(tasked.isEmpty == (recorded.detected_language == nil), "multilingual fixtures record task runs")
        for (name, run) in tasked {
            let transcriber = try Self.transcriber(model) { options in
                options.language = run.kwargs.language
                options.task = try #require(WhisperDecodingOptions.Task(rawValue: run.kwargs.task ?? ""))
                options.timestamps = run.kwargs.return_timestamps ?? false
            }
            let language =
                run.kwargs.language ?? recorded.detected_language.map { String($0.token.dropFirst(2).dropLast(2)) }
                ?? "en"
            #expect(
                transcriber.prompt(previous: [], language: language).tokens == run.prompt, "\(model)/\(clip)/\(name)")
        }
    }

    @Test func longFormFollowsTheSequentialAlgorithm() throws {
        let reference = try #require(try Self.reference("tiny-en").longform)
        let transcriber = try Self.transcriber("tiny-en") { options in
            options.beamSize = 1
            options.sampleLength = reference.kwargs.max_new_tokens
            options.temperatures = [0]
            options.conditionOnPreviousText = false
            options.noSpeechThreshold = nil
            options.logProbThreshold = nil
            options.compressionRatioThreshold = nil
        }
        let wav = Fixtures.root.appendingPathComponent("whisper/speech/\(reference.clip).wav").path
        let result = transcriber.transcribe(samples: try DecodedAudio(path: wav).resampled(to: 16_000))
        // transformers keeps a window's closing timestamp pair's second token in its last segment
        // (to mark that it did not end on a single timestamp); the reference drops it. The text
        // tokens and the times are the same.
        let isText = { (token: Int) in token < transcriber.specialTokens.timestampBegin }
        #expect(result.segments.map { $0.tokens.filter(isText) } == reference.segments.map { $0.tokens.filter(isText) })
        #expect(result.segments.count == reference.segments.count)
        for (ours, theirs) in zip(result.segments, reference.segments) {
            // Times past the end of the input are clamped to it here.
            #expect(
                abs(ours.start - min(theirs.start, result.duration)) < 1e-6
                    && abs(ours.end - min(theirs.end, result.duration)) < 1e-6,
                "ours \(ours.start)-\(ours.end) \(ours.tokens), transformers \(theirs.start)-\(theirs.end) \(theirs.tokens)"
            )
        }
    }
}
