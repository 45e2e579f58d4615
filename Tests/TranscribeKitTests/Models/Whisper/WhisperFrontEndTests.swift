import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// What scripts/fixtures/make-whisper-frontend-fixtures.py wrote to Tests/Fixtures/whisper/frontend.
struct WhisperFrontEndReference: Decodable {
    struct MelCase: Decodable {
        let bins: [String: MelReference]
    }
    struct MelReference: Decodable {
        struct Block: Decodable {
            let start: Int
            let file: String
        }
        let max: Float
        let min: Float
        let torchVsNumpyMaxAbs: Float
        let blocks: [Block]
        /// Every frame from `padFrom` on sees only the zero padding and equals `padValue`.
        let padFrom: Int?
        let padValue: Float?
        /// (3000,) mean of every frame, where frames are not all stored.
        let frameMeans: String?
    }
    struct TokenizerCase: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let ids: [Int]
        /// `WhisperTokenizer.decode(ids, skip_special_tokens=True)`.
        let text: String
        var testDescription: String { name }
    }
    struct TokenizerReference: Decodable {
        let file: String
        let vocabularySize: Int
        let cases: [TokenizerCase]
    }
    let mel: [String: MelCase]
    let tokenizer: TokenizerReference

    static let directory = Fixtures.root.appendingPathComponent("whisper/frontend")

    static func load() throws -> WhisperFrontEndReference {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: directory.appendingPathComponent("reference.json")))
    }

    static let loaded = try? load()
}

/// The Swift log-mel against `WhisperFeatureExtractor(samples, sampling_rate=16000)` of transformers
/// (its torch path, float32 STFT).
///
/// Tolerance: 1e-4 on log-mel values that span about 2. Both sides compute the DFT and the mel
/// products in float32, in different orders; the error is largest in bins whose power is near the
/// floor (8 decades below the loudest), where float32 keeps fewest significant digits of the
/// spectrum: transformers' own float64 numpy path is up to 4.7e-5 away from its torch path on these
/// clips. A wrong window, padding, filter or frame moves values by 1e-2 or more.
@Suite struct WhisperFeatureExtractorTests {
    static let tolerance: Float = 1e-4

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let bins: Int
        var testDescription: String { "\(name) / \(bins) bins" }
    }

    static let cases = ["hello_world", "long", "tiny", "empty"].flatMap { name in
        [80, 128].map { Case(name: name, bins: $0) }
    }

    /// The input each case names, built as the fixture script builds it.
    static func samples(_ name: String) throws -> [Float] {
        switch name {
        case "hello_world":
            return try DecodedAudio(path: Fixtures.clip("hello_world")).samples
        case "long":
            // The speech clips in file-name order, cycled and cut to 32 s.
            let clips = try Fixtures.clipNames.map { try DecodedAudio(path: Fixtures.clip($0)).samples }
            var samples: [Float] = []
            while samples.count < 32 * 16000 { for clip in clips { samples += clip } }
            return Array(samples.prefix(32 * 16000))
        case "tiny":
            return (0..<100).map { Float((37 * $0) % 201 - 100) / 128 }
        default:
            return []
        }
    }

    static func npy(_ file: String) throws -> (shape: [Int], values: [Float]) {
        let data = try Data(contentsOf: WhisperFrontEndReference.directory.appendingPathComponent(file))
        return try #require(Npy.decodeArray(data), "\(file) is not a float32 .npy")
    }

    @Test func fixturesArePresent() throws {
        let reference = try WhisperFrontEndReference.load()
        #expect(
            Set(reference.mel.keys) == Set(Self.cases.map(\.name)),
            "run scripts/fixtures/make-whisper-frontend-fixtures.py")
        #expect(Fixtures.clipNames.count == 5, "the long case cycles the 5 speech clips")
    }

    @Test(arguments: cases)
    func matchesTransformers(_ testCase: Case) throws {
        let reference = try #require(WhisperFrontEndReference.loaded?.mel[testCase.name]?.bins["\(testCase.bins)"])
        let extractor = WhisperFeatureExtractor(featureSize: testCase.bins)
        let logMel = extractor(try Self.samples(testCase.name))
        try #require(logMel.rows == 3000 && logMel.cols == testCase.bins)

        var maxDifference: Float = 0
        var compared = 0
        for block in reference.blocks {
            let (shape, values) = try Self.npy(block.file)
            try #require(shape.count == 2 && shape[1] == testCase.bins)
            for (offset, expected) in values.enumerated() {
                maxDifference = max(maxDifference, abs(logMel.data[block.start * testCase.bins + offset] - expected))
            }
            compared += shape[0]
        }
        if let padFrom = reference.padFrom, let padValue = reference.padValue {
            #expect(compared == padFrom, "stored frames cover everything before the padding")
            for value in logMel.data[(padFrom * testCase.bins)...] {
                maxDifference = max(maxDifference, abs(value - padValue))
            }
            compared = logMel.rows
        }
        if let file = reference.frameMeans {
            let (_, means) = try Self.npy(file)
            for (frame, expected) in means.enumerated() {
                let mean = logMel.row(frame).reduce(0, +) / Float(testCase.bins)
                maxDifference = max(maxDifference, abs(mean - expected))
            }
        }
        maxDifference = max(
            maxDifference, abs(logMel.data.max()! - reference.max), abs(logMel.data.min()! - reference.min))
        #expect(
            maxDifference <= Self.tolerance,
            "max |Δ log-mel| \(maxDifference) (transformers' numpy vs torch paths: \(reference.torchVsNumpyMaxAbs))")
    }

    @Test func silenceIsFlat() {
        // log10(1e-10) = -10 everywhere, and (-10 + 4) / 4 = -1.5.
        let logMel = WhisperFeatureExtractor()([Float](repeating: 0, count: 7))
        #expect(logMel.rows == 3000 && logMel.cols == 80)
        #expect(logMel.data.allSatisfy { $0 == -1.5 })
    }

    @Test func samplesBeyondTheWindowAreIgnored() throws {
        let samples = try Self.samples("long")
        let extractor = WhisperFeatureExtractor()
        #expect(extractor(samples) == extractor(Array(samples.prefix(extractor.nSamples))))
    }

    /// The sgemm DFT against a direct sum in Double, on a window short enough to sum naively.
    @Test func powerSpectrogramMatchesANaiveDFT() {
        let (nFFT, hop) = (24, 5)
        let samples = (0..<53).map { Float(sin(Double($0) * 0.7) + 0.3 * cos(Double($0 * $0) * 0.01)) }
        let power = PowerSpectrogram(nFFT: nFFT, hopLength: hop)(samples)
        #expect(power.rows == 1 + 53 / hop && power.cols == nFFT / 2 + 1)
        for frame in 0..<power.rows {
            for k in 0..<power.cols {
                var (real, imaginary) = (0.0, 0.0)
                for n in 0..<nFFT {
                    var index = frame * hop - nFFT / 2 + n
                    if index < 0 { index = -index }
                    if index >= samples.count { index = 2 * (samples.count - 1) - index }
                    let window = 0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(nFFT))
                    let angle = 2 * Double.pi * Double(k * n) / Double(nFFT)
                    real += window * Double(samples[index]) * cos(angle)
                    imaginary -= window * Double(samples[index]) * sin(angle)
                }
                let expected = real * real + imaginary * imaginary
                #expect(abs(Double(power[frame, k]) - expected) <= 1e-5 * max(1, expected), "frame \(frame) bin \(k)")
            }
        }
    }

    @Test func melFiltersHaveUnitArea() {
        // Slaney normalisation: each triangle, integrated over Hz, has area 1 (up to the bin grid).
        let bank = MelFilterBank(
            frequencyBins: 2001, melBins: 80, minFrequency: 0, maxFrequency: 8000, samplingRate: 16000)
        for mel in 0..<80 {
            let area = (0..<2001).reduce(0.0) { $0 + Double(bank.filters[$1, mel]) } * 4
            #expect(abs(area - 1) < 1e-2, "mel \(mel): area \(area)")
        }
    }
}

@Suite struct WhisperFeatureExtractorConfigTests {
    func extractor(_ json: String) throws -> WhisperFeatureExtractor {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("preprocessor_config.json")
            try Data(json.utf8).write(to: url)
            return try WhisperFeatureExtractor(contentsOf: url.path)
        }
    }

    func error(_ json: String) throws -> ModelError {
        do {
            _ = try extractor(json)
        } catch let error as ModelError {
            #expect(error.description.contains("preprocessor_config.json"), "names the file: \(error)")
            return error
        }
        Issue.record("\(json) was accepted")
        throw CancellationError()
    }

    @Test func readsWhisperFields() throws {
        let large = try extractor(
            """
            {"chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 128,
             "hop_length": 160, "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000, "padding_side": "right",
             "padding_value": 0.0, "processor_class": "WhisperProcessor", "return_attention_mask": false, "sampling_rate": 16000}
            """)
        #expect(large.featureSize == 128 && large.nSamples == 480_000 && large.nbMaxFrames == 3000)
        let defaults = try extractor("{}")
        #expect(
            defaults.featureSize == 80 && defaults.hopLength == 160 && defaults.nFFT == 400
                && defaults.chunkLength == 30)
    }

    @Test func namesMalformedJSON() throws {
        guard case .malformedJSON = try error("{\"feature_size\": 80,") else {
            Issue.record("not malformedJSON"); return
        }
    }

    @Test(arguments: [
        ("{\"feature_size\": \"80\"}", "feature_size"),
        ("{\"n_fft\": 0}", "n_fft"),
        ("{\"hop_length\": -160}", "hop_length"),
        ("{\"chunk_length\": 1, \"sampling_rate\": 100, \"n_fft\": 400}", "chunk_length"),
        ("{\"feature_extractor_type\": \"Wav2Vec2FeatureExtractor\"}", "feature_extractor_type"),
        ("{\"padding_value\": 1.0}", "padding_value"),
        ("{\"dither\": 0.0001}", "dither"),
    ])
    func namesTheField(_ json: String, _ field: String) throws {
        let error = try error(json)
        switch error {
        case .invalidConfig(_, let named, _), .unsupportedConfig(_, let named, _): #expect(named == field, "\(error)")
        default: Issue.record("\(error)")
        }
    }
}

/// `decode` against `WhisperTokenizer.decode(ids, skip_special_tokens=True)` of transformers with
/// tiny.en's real tokenizer.json; the loaders against hand-written and broken vocabularies.
@Suite struct WhisperTokenizerTests {
    static let tinyEn = Fixtures.packageRoot.appendingPathComponent("Models/whisper-tiny.en")
    static let vocabOnly = WhisperFrontEndReference.directory.appendingPathComponent("vocab-only")
    static let cases = WhisperFrontEndReference.loaded?.tokenizer.cases ?? []

    /// Loaded once: the parity cases share it.
    static let loadedTinyEn = Result { try WhisperTokenizer(directory: ModelDirectory(path: tinyEn.path)) }

    static func tinyEnTokenizer() throws -> WhisperTokenizer {
        try #require(
            FileManager.default.fileExists(atPath: tinyEn.appendingPathComponent("tokenizer.json").path),
            "Models/whisper-tiny.en/tokenizer.json is missing: run scripts/install-whisper-tiny-en.sh")
        return try loadedTinyEn.get()
    }

    @Test func tinyEnVocabulary() throws {
        let tokenizer = try Self.tinyEnTokenizer()
        let reference = try #require(WhisperFrontEndReference.loaded?.tokenizer)
        // tokenizer.json stops at <|notimestamps|>; the 1501 timestamps follow, as in the model's vocab_size.
        #expect(reference.vocabularySize == 50363)
        #expect(tokenizer.count == 51864)
        #expect(tokenizer.id(of: "<|endoftext|>") == 50256)
        #expect(tokenizer.id(of: "<|startoftranscript|>") == 50257)
        #expect(tokenizer.id(of: "<|notimestamps|>") == 50362)
        #expect(tokenizer.id(of: "<|0.00|>") == 50363)
        #expect(tokenizer.id(of: "<|0.02|>") == 50364)
        #expect(tokenizer.token(of: 51863) == "<|30.00|>")
        #expect(tokenizer.token(of: 51864) == nil && tokenizer.token(of: -1) == nil)
        #expect(tokenizer.id(of: "Ġhello") == 23748)
        #expect(tokenizer.bytes(of: 23748) == Array(" hello".utf8))
        #expect(tokenizer.bytes(of: 50256).isEmpty && tokenizer.bytes(of: 50400).isEmpty)
        #expect(
            tokenizer.isSpecial(50256) && tokenizer.isSpecial(50362) && tokenizer.isSpecial(50363)
                && tokenizer.isSpecial(51863))
        #expect(!tokenizer.isSpecial(23748) && !tokenizer.isSpecial(0))
        #expect(tokenizer.languages.count == 99)
        #expect(
            tokenizer.languages["en"] == 50258 && tokenizer.languages["zh"] == 50259
                && tokenizer.languages["su"] == 50356)
    }

    @Test func thereAreEnoughCases() {
        #expect(Self.cases.count >= 30, "run scripts/fixtures/make-whisper-frontend-fixtures.py")
    }

    @Test(arguments: cases)
    func decodesAsTransformers(_ testCase: WhisperFrontEndReference.TokenizerCase) throws {
        let tokenizer = try Self.tinyEnTokenizer()
        let text = tokenizer.decode(testCase.ids)
        #expect(text == testCase.text, "\(Array(text.unicodeScalars)) vs \(Array(testCase.text.unicodeScalars))")
    }

    @Test func readsVocabAndAddedTokens() throws {
        let tokenizer = try WhisperTokenizer(directory: ModelDirectory(path: Self.vocabOnly.path))
        #expect(tokenizer.count == 22 + 1501)
        #expect(tokenizer.languages == ["en": 16, "fr": 17])
        #expect(tokenizer.id(of: "<|0.00|>") == 22 && tokenizer.token(of: 22 + 1500) == "<|30.00|>")
        #expect((14...21).allSatisfy(tokenizer.isSpecial) && !tokenizer.isSpecial(13))
        #expect(tokenizer.decode([15, 16, 19, 21, 10, 11, 14]) == " Hello world")
        #expect(tokenizer.decode([12, 8, 9, 4, 13]) == "café \n")
        #expect(tokenizer.decode([20, 10, 15, 11]) == " world")
        #expect(tokenizer.decode([12, 8]) == "caf\u{FFFD}")
        #expect(tokenizer.decode([0, 1, 2, 2, 3, 22, 4, 5, 3, 6, 2, 7, 100]) == "Hello world")
        #expect(tokenizer.bytes(of: 13) == [0x0A] && tokenizer.bytes(of: 8) == [0xC3])
    }

    /// tokenizer_config.json's `added_tokens_decoder` decides which added tokens are special; a
    /// token that is not is text.
    @Test func addedTokensDecoderSetsSpecialFlags() throws {
        try withTemporaryDirectory { directory in
            let copy = directory.appendingPathComponent("vocab-only")
            try FileManager.default.copyItem(at: Self.vocabOnly, to: copy)
            try Data(
                """
                {"added_tokens_decoder": {"14": {"content": "<|endoftext|>", "special": false},
                                          "5000": {"content": "<|custom|>", "special": false}}}
                """.utf8
            ).write(to: copy.appendingPathComponent("tokenizer_config.json"))
            let tokenizer = try WhisperTokenizer(directory: ModelDirectory(path: copy.path))
            #expect(!tokenizer.isSpecial(14) && tokenizer.isSpecial(15))
            // <|notimestamps|> is not the last id any more: no timestamps are added.
            #expect(tokenizer.count == 5001 && tokenizer.id(of: "<|0.00|>") == nil)
            #expect(tokenizer.decode([10, 14, 5000, 21, 22]) == " Hello<|endoftext|><|custom|>")
        }
    }

    struct Broken: CustomTestStringConvertible, Sendable {
        let name: String
        let file: String
        let contents: String
        /// Whose name the error must carry, besides the file's.
        let field: String?
        var testDescription: String { name }
    }

    static let broken = [
        Broken(name: "malformed tokenizer.json", file: "tokenizer.json", contents: "{\"model\": {", field: nil),
        Broken(
            name: "vocab of the wrong type", file: "tokenizer.json",
            contents: "{\"model\": {\"type\": \"BPE\", \"vocab\": [\"a\"]}, \"decoder\": {\"type\": \"ByteLevel\"}}",
            field: "model.vocab"),
        Broken(
            name: "not a BPE", file: "tokenizer.json",
            contents: "{\"model\": {\"type\": \"Unigram\", \"vocab\": {}}, \"decoder\": {\"type\": \"ByteLevel\"}}",
            field: "model.type"),
        Broken(
            name: "not byte-level", file: "tokenizer.json",
            contents: "{\"model\": {\"vocab\": {\"a\": 0}}, \"decoder\": {\"type\": \"WordPiece\"}}",
            field: "decoder.type"),
        Broken(
            name: "an id twice", file: "tokenizer.json",
            contents: "{\"model\": {\"vocab\": {\"a\": 0, \"b\": 0}}, \"decoder\": {\"type\": \"ByteLevel\"}}",
            field: nil),
        Broken(name: "an id beyond any vocabulary", file: "vocab.json", contents: "{\"H\": 123456789012}", field: nil),
        Broken(name: "malformed vocab.json", file: "vocab.json", contents: "{\"H\": 0,", field: nil),
        Broken(name: "an id that is a string", file: "vocab.json", contents: "{\"H\": \"0\"}", field: "H"),
        Broken(name: "malformed added_tokens.json", file: "added_tokens.json", contents: "[", field: nil),
        Broken(
            name: "a key that is not an id", file: "tokenizer_config.json",
            contents: "{\"added_tokens_decoder\": {\"x\": {\"content\": \"<|x|>\"}}}", field: "added_tokens_decoder.x"),
    ]

    @Test(arguments: broken)
    func namesTheFileAndField(_ broken: Broken) throws {
        try withTemporaryDirectory { directory in
            let copy = directory.appendingPathComponent("vocab-only")
            try FileManager.default.copyItem(at: Self.vocabOnly, to: copy)
            try Data(broken.contents.utf8).write(to: copy.appendingPathComponent(broken.file))
            #expect {
                try WhisperTokenizer(directory: ModelDirectory(path: copy.path))
            } throws: { error in
                let description = "\(error)"
                return error is ModelError && description.contains("/" + broken.file)
                    && broken.field.map { description.contains("\"\($0)\"") } ?? true
            }
        }
    }

    @Test func namesTheMissingVocabulary() throws {
        try withTemporaryDirectory { directory in
            #expect(throws: ModelError.missingFile(path: directory.path + "/tokenizer.json (or vocab.json)")) {
                try WhisperTokenizer(directory: ModelDirectory(path: directory.path))
            }
        }
    }
}
