import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// Classifier checkpoints load as strictly as the other families, and AST loads under both of
/// its checkpoint namings.
@Suite struct ClassifierLoadingTests {
    static let models = Fixtures.root.appendingPathComponent("classification/models")

    /// A copy of the fixture `name` in `directory`, changed by `damage`, loaded.
    func load(_ name: String, damage: (URL) throws -> Void) throws -> Result<AudioClassifier, Error> {
        try withTemporaryDirectory { directory in
            let copy = directory.appendingPathComponent(name)
            try FileManager.default.copyItem(at: Self.models.appendingPathComponent(name), to: copy)
            try damage(copy)
            return Result {
                try #require(try loadRecognizer(directory: ModelDirectory(path: copy.path)) as? AudioClassifier)
            }
        }
    }

    func editConfig(_ model: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = model.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    /// Renames the tensors of `model`'s safetensors file with `rename`; the data stays as it is.
    func renameTensors(_ model: URL, _ rename: (String) -> String) throws {
        let url = model.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try #require(
            try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
        let renamed = Dictionary(uniqueKeysWithValues: header.map { ($0 == "__metadata__" ? $0 : rename($0), $1) })
        let json = try JSONSerialization.data(withJSONObject: renamed)
        var out = Data(withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) })
        out += json
        out += data.subdata(in: (8 + length)..<data.count)
        try out.write(to: url)
    }

    /// transformers 5 saves AST's layers as `layers.N.attention.q_proj` ... `mlp.fc2`; the Hub's
    /// checkpoints have `encoder.layer.N.attention.attention.query` ... `output.dense`. Both give
    /// the same logits.
    @Test func astLoadsUnderEitherNaming() throws {
        let samples = try loadAudio(
            path: Fixtures.root.appendingPathComponent("classification/clips/chirp.wav").path, sampleRate: 16_000)
        let published = try load("ast-tiny") { _ in }.get()
        let renamed = try load("ast-tiny") { model in
            try renameTensors(model) { key in
                key.replacingOccurrences(of: "encoder.layer.", with: "layers.")
                    .replacingOccurrences(of: "attention.attention.query", with: "attention.q_proj")
                    .replacingOccurrences(of: "attention.attention.key", with: "attention.k_proj")
                    .replacingOccurrences(of: "attention.attention.value", with: "attention.v_proj")
                    .replacingOccurrences(of: "attention.output.dense", with: "attention.o_proj")
                    .replacingOccurrences(of: "intermediate.dense", with: "mlp.fc1")
                    .replacingOccurrences(of: ".output.dense", with: ".mlp.fc2")
            }
        }.get()
        let expected = try #require(published.logits(clip: samples))
        #expect(try #require(renamed.logits(clip: samples)) == expected)
    }

    @Test func aClassifierNeedsItsLabels() throws {
        let result = try load("hubert-ks") { try editConfig($0) { $0.removeValue(forKey: "id2label") } }
        guard case .failure(ModelError.invalidConfig(_, let field, _)) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(field == "id2label")
    }

    /// (With a weighted layer sum, `layer_weights` has the wrong shape first.)
    @Test(arguments: ["wav2vec2-ks-stable-f16", "ast-tiny"])
    func namesATensorNoLayerUses(_ model: String) throws {
        let result = try load(model) { try editConfig($0) { $0["num_hidden_layers"] = 1 } }
        guard case .failure(ModelError.unexpectedTensor(_, let tensor)) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(tensor.contains("layer") && tensor.contains("1."), "\(tensor)")
    }

    @Test func namesAWeightedSumWithoutItsWeights() throws {
        let result = try load("wav2vec2-ks-stable-f16") { try editConfig($0) { $0["use_weighted_layer_sum"] = true } }
        guard case .failure(ModelError.missingTensor(_, let tensor)) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(tensor == "layer_weights")
    }

    @Test func refusesTheBatchNormedPositionalConvolution() throws {
        let result = try load("hubert-ks") { try editConfig($0) { $0["conv_pos_batch_norm"] = true } }
        guard case .failure(ModelError.unsupportedConfig(_, let field, _)) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(field == "conv_pos_batch_norm")
    }

    /// A Wav2Vec2 head whose labels are not Speech Commands' (emotion, speaker, language) hears
    /// the whole input in one pass, as the pipeline does, up to 30 s; a keyword spotter one second.
    @Test func onlyKeywordSpottersHearOneSecond() throws {
        let spotter = try load("wav2vec2-ks-weighted") { _ in }.get()
        #expect(spotter.isKeywordSpotter && spotter.windowSamples == 16_000)
        let other = try load("wav2vec2-ks-weighted") { model in
            try editConfig(model) { config in
                var labels = config["id2label"] as! [String: String]
                labels["10"] = "neutral"
                labels["11"] = "happy"
                config["id2label"] = labels
                config.removeValue(forKey: "label2id")
            }
        }.get()
        #expect(!other.isKeywordSpotter && other.windowSamples == 30 * 16_000)
    }

    /// Heads this tool does not run are refused by name, not read as a transcription model.
    @Test func namesAnUnsupportedHead() throws {
        let result = try load("hubert-ks") { try editConfig($0) { $0["architectures"] = ["HubertForXVector"] } }
        guard case .failure(ModelError.unsupportedConfig(_, let field, let reason)) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(field == "architectures" && reason.hasPrefix("HubertForXVector"))
    }

    @Test func explainsAMissingWeightsFile() throws {
        let result = try load("ast-tiny") {
            try FileManager.default.removeItem(at: $0.appendingPathComponent("model.safetensors"))
        }
        guard case .failure(ModelError.missingFile(let path)) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(path.hasSuffix("model.safetensors"))
    }
}
