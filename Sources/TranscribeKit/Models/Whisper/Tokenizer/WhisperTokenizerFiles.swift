import Foundation

/// Reading a Whisper vocabulary from a model directory: tokenizer.json (tokenizers' format), or
/// the older vocab.json with added_tokens.json and tokenizer_config.json's `added_tokens_decoder`.
extension WhisperTokenizer {
    /// Loads tokenizer.json if present, else vocab.json (+ added_tokens.json / tokenizer_config.json
    /// added_tokens_decoder) from `directory`. Errors name the file and the field.
    public init(directory: ModelDirectory) throws {
        let tokenizerJSON = directory.file("tokenizer.json")
        if FileManager.default.fileExists(atPath: tokenizerJSON) {
            let (vocab, added) = try Self.entries(tokenizerJSON: tokenizerJSON)
            try self.init(vocab: vocab, added: added, source: tokenizerJSON)
        } else {
            let vocabPath = directory.file("vocab.json")
            guard FileManager.default.fileExists(atPath: vocabPath) else {
                throw ModelError.missingFile(path: directory.file("tokenizer.json (or vocab.json)"))
            }
            let (vocab, added) = try Self.entries(vocabDirectory: directory)
            try self.init(vocab: vocab, added: added, source: vocabPath)
        }
    }

    private struct TokenizerFile: Decodable {
        struct Model: Decodable {
            var type: String?
            var vocab: [String: Int]
        }
        struct AddedToken: Decodable {
            var id: Int
            var content: String
            var special: Bool?
        }
        struct Decoder: Decodable {
            var type: String
        }
        var model: Model
        var added_tokens: [AddedToken]?
        var decoder: Decoder?
    }

    /// `model.vocab` (a byte-level BPE) then `added_tokens`.
    private static func entries(tokenizerJSON path: String) throws -> (vocab: [String: Int], added: [Entry]) {
        let file = try decodeJSONFile(TokenizerFile.self, path: path)
        if let type = file.model.type, type != "BPE" {
            throw ModelError.unsupportedConfig(
                path: path, field: "model.type", reason: "\(type); Whisper's vocabulary is BPE")
        }
        guard let decoder = file.decoder else {
            throw ModelError.invalidConfig(path: path, field: "decoder", reason: "missing; Whisper's is ByteLevel")
        }
        guard decoder.type == "ByteLevel" else {
            throw ModelError.unsupportedConfig(
                path: path, field: "decoder.type", reason: "\(decoder.type); Whisper's is ByteLevel")
        }
        return (
            file.model.vocab,
            (file.added_tokens ?? []).map { Entry(token: $0.content, id: $0.id, special: $0.special ?? false) }
        )
    }

    private struct TokenizerConfig: Decodable {
        struct AddedToken: Decodable {
            var content: String
            var special: Bool?
        }
        var added_tokens_decoder: [String: AddedToken]?
    }

    /// vocab.json, then added_tokens.json (all special: Whisper's added tokens are its `<|...|>`
    /// markers), then tokenizer_config.json's `added_tokens_decoder`, whose `special` flags win.
    private static func entries(vocabDirectory directory: ModelDirectory) throws -> (
        vocab: [String: Int], added: [Entry]
    ) {
        let vocab = try decodeJSONFile([String: Int].self, path: directory.file("vocab.json"))
        var added: [Int: Entry] = [:]
        let addedTokens = directory.file("added_tokens.json")
        if FileManager.default.fileExists(atPath: addedTokens) {
            for (token, id) in try decodeJSONFile([String: Int].self, path: addedTokens) {
                added[id] = Entry(token: token, id: id, special: true)
            }
        }
        let configPath = directory.file("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configPath) {
            let config = try decodeJSONFile(TokenizerConfig.self, path: configPath)
            for (key, token) in config.added_tokens_decoder ?? [:] {
                guard let id = Int(key) else {
                    throw ModelError.invalidConfig(
                        path: configPath, field: "added_tokens_decoder.\(key)", reason: "the key must be a token id")
                }
                if let other = added[id], other.token != token.content {
                    throw ModelError.vocabularyMismatch(
                        path: configPath,
                        reason: "id \(id) is \"\(token.content)\" here but \"\(other.token)\" in added_tokens.json")
                }
                added[id] = Entry(token: token.content, id: id, special: token.special ?? false)
            }
        }
        return (vocab, added.values.sorted { $0.id < $1.id })
    }
}
