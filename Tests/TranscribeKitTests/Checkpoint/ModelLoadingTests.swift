import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Writes a safetensors file: the 8-byte little-endian header length, `header` as JSON, `data`.
func writeSafetensors(_ header: [String: Any], data: [UInt8], to url: URL, headerLength: UInt64? = nil) throws {
    let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    var bytes = withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian) { Array($0) }
    bytes += Array(json) + data
    try Data(bytes).write(to: url)
}

func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } }
}

@Suite struct SafeTensorsTests {
    @Test func readsF32F16AndBF16() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("w.safetensors")
            let f16: [UInt8] = [Float16(1.5), Float16(-2)].flatMap {
                withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) }
            }
            // bfloat16 is the upper half of a float32.
            let bf16: [UInt8] = [Float(3.25), Float(-0.5)].flatMap {
                withUnsafeBytes(of: UInt16($0.bitPattern >> 16).littleEndian) { Array($0) }
            }
            let f32 = floatBytes([1, 2, 3, 4, 5, 6])
            try writeSafetensors(
                [
                    "__metadata__": ["format": "pt"],
                    "a": ["dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]],
                    "b": ["dtype": "F16", "shape": [2], "data_offsets": [24, 28]],
                    "c": ["dtype": "BF16", "shape": [2], "data_offsets": [28, 32]],
                ], data: f32 + f16 + bf16, to: url)
            let file = try SafeTensorsFile(path: url.path)
            let a = try file.tensor("a")
            #expect(a.shape == [2, 3])
            #expect(a.storage.values == [1, 2, 3, 4, 5, 6])
            #expect(try file.tensor("b").storage.values == [1.5, -2])
            #expect(try file.tensor("c").storage.values == [3.25, -0.5])
        }
    }

    struct BrokenFile: CustomTestStringConvertible, Sendable {
        let name: String
        let header: [String: [String: AnyHashableSendable]]
        let dataSize: Int
        let headerLength: UInt64?
        let reason: String
        var testDescription: String { name }
    }

    /// A JSON value that can sit in a test table.
    enum AnyHashableSendable: Sendable {
        case string(String), ints([Int])
        var json: Any {
            switch self {
            case .string(let s): return s
            case .ints(let i): return i
            }
        }
    }

    static let brokenFiles: [BrokenFile] = [
        BrokenFile(
            name: "offsets past the end",
            header: ["w": ["dtype": .string("F32"), "shape": .ints([4]), "data_offsets": .ints([0, 16])]],
            dataSize: 8, headerLength: nil, reason: "outside the 8 data bytes"),
        BrokenFile(
            name: "overlapping tensors",
            header: [
                "a": ["dtype": .string("F32"), "shape": .ints([2]), "data_offsets": .ints([0, 8])],
                "b": ["dtype": .string("F32"), "shape": .ints([2]), "data_offsets": .ints([4, 12])],
            ], dataSize: 12, headerLength: nil, reason: "overlap"),
        BrokenFile(
            name: "unknown dtype",
            header: ["w": ["dtype": .string("Q4"), "shape": .ints([2]), "data_offsets": .ints([0, 8])]],
            dataSize: 8, headerLength: nil, reason: "unknown dtype Q4"),
        BrokenFile(
            name: "size does not match shape",
            header: ["w": ["dtype": .string("F32"), "shape": .ints([3]), "data_offsets": .ints([0, 8])]],
            dataSize: 8, headerLength: nil, reason: "needs 3 × 4"),
        BrokenFile(
            name: "header length larger than the file", header: [:], dataSize: 0, headerLength: 1 << 40,
            reason: "larger than the file"),
    ]

    @Test(arguments: brokenFiles)
    func rejectsALyingHeader(_ broken: BrokenFile) throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try writeSafetensors(
                broken.header.mapValues { $0.mapValues(\.json) }, data: [UInt8](repeating: 0, count: broken.dataSize),
                to: url, headerLength: broken.headerLength)
            #expect {
                _ = try SafeTensorsFile(path: url.path)
            } throws: { error in
                guard case ModelError.malformedSafetensors(let path, let reason) = error else { return false }
                return path == url.path && reason.contains(broken.reason)
            }
        }
    }

    @Test func rejectsATruncatedFile() throws {
        try withTemporaryDirectory { directory in
            let source = Fixtures.models.appendingPathComponent("base-postnorm-f32/model.safetensors")
            let data = try Data(contentsOf: source)
            let url = directory.appendingPathComponent("model.safetensors")
            try data.prefix(data.count - 100).write(to: url)
            #expect(throws: ModelError.self) { _ = try SafeTensorsFile(path: url.path) }
        }
    }

    @Test func weightStoreChecksShapesAndLeftovers() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("w.safetensors")
            try writeSafetensors(
                [
                    "used": ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]],
                    "extra": ["dtype": "F32", "shape": [1], "data_offsets": [8, 12]],
                ], data: floatBytes([1, 2, 3]), to: url)
            let store = WeightStore(file: try SafeTensorsFile(path: url.path))
            #expect(throws: ModelError.shapeMismatch(path: url.path, tensor: "used", expected: [3], found: [2])) {
                _ = try store("used", shape: [3])
            }
            #expect(throws: ModelError.missingTensor(path: url.path, tensor: "absent")) {
                _ = try store("absent", shape: [1])
            }
            _ = try store("used", shape: [2])
            #expect(throws: ModelError.unexpectedTensor(path: url.path, tensor: "extra")) {
                try store.checkAllUsed(ignoring: [])
            }
            try store.checkAllUsed(ignoring: ["extra"])
        }
    }
}

/// Broken model directories: each error names the file and the key or field.
@Suite struct ModelDirectoryTests {
    static let fixture = "base-postnorm-f32"

    /// Breaks a copy of the fixture with `damage`, loads it and returns the error's text.
    func loadError(_ damage: (URL) throws -> Void) throws -> ModelError? {
        try withTemporaryDirectory { directory in
            let model = try copyOfModel(Self.fixture, in: directory)
            try damage(model)
            do {
                _ = try Wav2Vec2Recognizer(directory: ModelDirectory(path: model.path))
                return nil
            } catch let error as ModelError {
                return error
            }
        }
    }

    func editConfig(_ model: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = model.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    @Test func loadsTheFixture() throws {
        #expect(try loadError { _ in } == nil)
    }

    @Test(arguments: ["config.json", "vocab.json", "model.safetensors"])
    func namesAMissingFile(_ file: String) throws {
        let error = try #require(
            try loadError { try FileManager.default.removeItem(at: $0.appendingPathComponent(file)) })
        guard case .missingFile(let path) = error else { Issue.record("\(error)"); return }
        #expect(path.hasSuffix("/\(file)"))
    }

    @Test func explainsHowToConvertPyTorchWeights() throws {
        let error = try #require(
            try loadError { model in
                try FileManager.default.moveItem(
                    at: model.appendingPathComponent("model.safetensors"),
                    to: model.appendingPathComponent("pytorch_model.bin"))
            })
        #expect(error.description.contains("scripts/convert-to-safetensors.py"))
    }

    @Test func namesMalformedJSON() throws {
        let error = try #require(
            try loadError { try Data("{\"hidden_size\": 32,".utf8).write(to: $0.appendingPathComponent("config.json")) }
        )
        guard case .malformedJSON(let path, _) = error else { Issue.record("\(error)"); return }
        #expect(path.hasSuffix("config.json"))
    }

    @Test func namesAFieldOfTheWrongType() throws {
        let error = try loadError { try editConfig($0) { $0["hidden_size"] = "wide" } }
        #expect(error?.description.contains("\"hidden_size\"") == true)
    }

    @Test(arguments: [
        ("hidden_act", "\"mish\""), ("feat_extract_norm", "\"batch\""), ("model_type", "\"wavlm\""),
        ("add_adapter", "true"),
    ])
    func namesAnUnsupportedValue(_ field: String, _ json: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        let error = try #require(try loadError { try editConfig($0) { $0[field] = value } })
        guard case .unsupportedConfig(_, let named, _) = error else { Issue.record("\(error)"); return }
        #expect(named == field)
    }

    @Test func namesATensorOfTheWrongShape() throws {
        let error = try #require(try loadError { try editConfig($0) { $0["intermediate_size"] = 7 } })
        guard case .shapeMismatch(_, let tensor, let expected, _) = error else { Issue.record("\(error)"); return }
        #expect(tensor == "wav2vec2.encoder.layers.0.feed_forward.intermediate_dense.weight")
        #expect(expected.first == 7)
    }

    @Test func namesAMissingTensor() throws {
        let error = try #require(try loadError { try editConfig($0) { $0["num_hidden_layers"] = 9 } })
        guard case .missingTensor(_, let tensor) = error else { Issue.record("\(error)"); return }
        #expect(tensor.hasPrefix("wav2vec2.encoder.layers."))
    }

    @Test func namesATensorNoLayerUses() throws {
        let error = try #require(try loadError { try editConfig($0) { $0["num_hidden_layers"] = 1 } })
        guard case .unexpectedTensor(_, let tensor) = error else { Issue.record("\(error)"); return }
        #expect(tensor.hasPrefix("wav2vec2.encoder.layers.1."))
    }

    @Test func rejectsAVocabularyThatDoesNotMatchTheHead() throws {
        let damaged = try loadError { model in
            let url = model.appendingPathComponent("vocab.json")
            var vocab = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Int] ?? [:]
            vocab["Ä"] = vocab.count
            try JSONSerialization.data(withJSONObject: vocab).write(to: url)
        }
        let error = try #require(damaged)
        guard case .vocabularyMismatch(let path, let reason) = error else { Issue.record("\(error)"); return }
        #expect(path.hasSuffix("vocab.json") && reason.contains("vocab_size"))
    }

    @Test func resolvesTheModelFromFlagEnvironmentThenDefaults() throws {
        #expect(try ModelDirectory.resolve(explicit: "/a", environment: ["TRANSCRIBE_MODEL": "/b"]).path == "/a")
        #expect(try ModelDirectory.resolve(explicit: nil, environment: ["TRANSCRIBE_MODEL": "/b"]).path == "/b")
        try withTemporaryDirectory { home in
            #expect {
                _ = try ModelDirectory.resolve(
                    explicit: nil, environment: ["XDG_DATA_HOME": home.path],
                    executablePath: "/nonexistent/bin/transcribe", currentDirectory: home.path)
            } throws: { error in
                "\(error)".contains(home.path + "/transcribe/models/wav2vec2-base-960h")
            }
        }
    }
}
