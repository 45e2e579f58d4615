import Foundation

/// The CTC vocabulary of a checkpoint: vocab.json (`{token: id}`) and the special tokens of
/// tokenizer_config.json (`Wav2Vec2CTCTokenizer`), with transformers' defaults where absent.
public struct Vocabulary: Sendable, Equatable {
    /// Token spelling by id.
    public let tokens: [String]
    /// The CTC blank: the pad token.
    public let blankId: Int
    /// `|`, printed as a space.
    public let wordDelimiterId: Int?
    /// Tokens that never reach the text: pad, `<s>`, `</s>`, `<unk>`.
    public let specialIds: Set<Int>

    public var count: Int { tokens.count }

    public init(
        tokens: [String], padToken: String = "<pad>", wordDelimiterToken: String = "|",
        specialTokens: [String] = ["<s>", "</s>", "<unk>"]
    ) throws {
        guard let blank = tokens.firstIndex(of: padToken) else {
            throw ModelError.vocabularyMismatch(
                path: "vocab.json", reason: "no pad token \"\(padToken)\" (the CTC blank)")
        }
        self.tokens = tokens
        self.blankId = blank
        self.wordDelimiterId = tokens.firstIndex(of: wordDelimiterToken)
        self.specialIds = Set(([padToken] + specialTokens).compactMap { tokens.firstIndex(of: $0) })
    }

    private struct TokenizerConfig: Decodable {
        var pad_token: TokenSpelling?
        var unk_token: TokenSpelling?
        var bos_token: TokenSpelling?
        var eos_token: TokenSpelling?
        var word_delimiter_token: TokenSpelling?
    }

    /// Reads vocab.json and, when given, tokenizer_config.json; ids must cover `0..<count` once each.
    public init(vocabPath: String, tokenizerConfigPath: String?) throws {
        try self.init(
            vocabJSON: readModelFile(vocabPath), vocabPath: vocabPath,
            tokenizerConfigJSON: tokenizerConfigPath.map(readModelFile), tokenizerConfigPath: tokenizerConfigPath ?? "")
    }

    /// The same from the two files' text, read from the paths given (named in errors).
    init(vocabJSON data: Data, vocabPath: String, tokenizerConfigJSON: Data?, tokenizerConfigPath: String) throws {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ModelError.malformedJSON(path: vocabPath, reason: "\(error.localizedDescription)")
        }
        guard let table = json as? [String: Any] else {
            throw ModelError.malformedJSON(path: vocabPath, reason: "expected an object {token: id}")
        }
        var tokens = [String?](repeating: nil, count: table.count)
        for (token, value) in table {
            guard let id = value as? Int else {
                throw ModelError.vocabularyMismatch(
                    path: vocabPath,
                    reason:
                        "token \"\(token)\" maps to \(value), not an id (multilingual vocabularies are not supported)")
            }
            guard id >= 0, id < table.count, tokens[id] == nil else {
                throw ModelError.vocabularyMismatch(
                    path: vocabPath,
                    reason: "token \"\(token)\" has id \(id); ids must be 0..<\(table.count), each used once")
            }
            tokens[id] = token
        }

        var config = TokenizerConfig()
        if let tokenizerConfigJSON {
            config = try decodeJSON(TokenizerConfig.self, from: tokenizerConfigJSON, path: tokenizerConfigPath)
        }
        do {
            try self.init(
                tokens: tokens.map { $0 ?? "" },
                padToken: config.pad_token?.content ?? "<pad>",
                wordDelimiterToken: config.word_delimiter_token?.content ?? "|",
                specialTokens: [
                    config.bos_token?.content ?? "<s>", config.eos_token?.content ?? "</s>",
                    config.unk_token?.content ?? "<unk>",
                ])
        } catch ModelError.vocabularyMismatch(_, let reason) {
            throw ModelError.vocabularyMismatch(path: vocabPath, reason: reason)
        }
    }
}
