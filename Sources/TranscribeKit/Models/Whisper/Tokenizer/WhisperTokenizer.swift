import Foundation

/// Whisper's byte-level BPE vocabulary: ids to text, special tokens by name.
///
/// Decoding follows `WhisperTokenizer.decode(ids, skip_special_tokens=True)` in
/// transformers/models/whisper/tokenization_whisper.py: a previous-text prompt
/// (`<|startofprev|>` up to `<|startoftranscript|>`) is dropped, special tokens and unknown ids are
/// skipped, the other tokens' bytes (GPT-2's byte-to-unicode spelling undone) are joined and read as
/// UTF-8 with U+FFFD for each maximal invalid subpart (tokenizers' ByteLevel decoder), and
/// timestamp spellings `<|1.00|>` are removed from the text.
///
/// A vocabulary that ends at `<|notimestamps|>` without timestamp tokens (tiny.en's tokenizer.json
/// does) gets OpenAI's 1501 after it: `<|0.00|>` ... `<|30.00|>` by 0.02 s, so that `count` equals
/// the model's `vocab_size` (51864 for tiny.en).
public struct WhisperTokenizer: Sendable {
    /// Spelling by id; nil for an id no file names.
    private let tokens: [String?]
    private let idsByToken: [String: Int]
    /// Added tokens marked special, and timestamps.
    private let specialIds: Set<Int>
    /// The UTF-8 bytes of every id one after another, id `i`'s ending at `byteEnds[i]`; none for
    /// special and unknown ids. (One array rather than one per id, which took 2 MB more.)
    private let byteStore: [UInt8]
    private let byteEnds: [Int]
    public let languages: [String: Int]

    /// Timestamps OpenAI's tokenizer adds after `<|notimestamps|>`: 0.00 to 30.00 s by 0.02 s.
    static let timestampCount = 1501

    /// Bounds the tables a vocabulary file can make us allocate (Whisper's have 51865 ids).
    static let idLimit = 1 << 24

    /// Highest id + 1.
    public var count: Int { tokens.count }

    public func id(of token: String) -> Int? { idsByToken[token] }

    public func token(of id: Int) -> String? { tokens.indices.contains(id) ? tokens[id] : nil }

    public func isSpecial(_ id: Int) -> Bool { specialIds.contains(id) }

    public func bytes(of id: Int) -> [UInt8] {
        guard byteEnds.indices.contains(id) else { return [] }
        return Array(byteStore[(id == 0 ? 0 : byteEnds[id - 1])..<byteEnds[id]])
    }

    /// One vocabulary entry as a file gives it.
    struct Entry {
        let token: String
        let id: Int
        let special: Bool
    }

    /// Builds the tables from `vocab` (`{token: id}`, not special) and the `added` tokens, which
    /// win over the vocabulary as in tokenizers; `source` names the files for errors.
    init(vocab: [String: Int], added: [Entry], source: String) throws {
        var idsByToken = vocab
        var entries = added
        var count = 0
        for (token, id) in vocab { count = max(count, try Self.checked(id, token, source) + 1) }
        for entry in added {
            count = max(count, try Self.checked(entry.id, entry.token, source) + 1)
            idsByToken[entry.token] = entry.id
        }
        if idsByToken["<|0.00|>"] == nil, let first = idsByToken["<|notimestamps|>"].map({ $0 + 1 }), first >= count {
            for index in 0..<Self.timestampCount {
                let token = Self.timestampSpelling(centiseconds: 2 * index)
                entries.append(Entry(token: token, id: first + index, special: true))
                idsByToken[token] = first + index
            }
            count = first + Self.timestampCount
        }

        var tokens = [String?](repeating: nil, count: count)
        var special = [Bool](repeating: false, count: count)
        func place(_ token: String, _ id: Int, special isSpecial: Bool) throws {
            if let other = tokens[id], other != token {
                throw ModelError.vocabularyMismatch(
                    path: source, reason: "id \(id) is both \"\(other)\" and \"\(token)\"")
            }
            tokens[id] = token
            special[id] = isSpecial
        }
        for (token, id) in vocab { try place(token, id, special: false) }
        for entry in entries { try place(entry.token, entry.id, special: entry.special) }
        var specialIds = Set<Int>()
        var byteStore: [UInt8] = []
        var byteEnds: [Int] = []
        byteEnds.reserveCapacity(count)
        for (id, token) in tokens.enumerated() {
            if let token {
                if special[id] || (token.hasPrefix("<|") && isTimestampSpelling(token)) {
                    specialIds.insert(id)
                } else {
                    byteStore += ByteLevel.bytes(of: token)
                }
            }
            byteEnds.append(byteStore.count)
        }
        self.tokens = tokens
        self.idsByToken = idsByToken
        self.specialIds = specialIds
        self.byteStore = byteStore
        self.byteEnds = byteEnds
        self.languages = Self.languageIds(tokens: tokens, idsByToken: idsByToken)
    }

    private static func checked(_ id: Int, _ token: String, _ source: String) throws -> Int {
        guard (0..<idLimit).contains(id) else {
            throw ModelError.vocabularyMismatch(
                path: source, reason: "token \"\(token)\" has id \(id); ids must be 0..<\(idLimit)")
        }
        return id
    }

    /// `<|12.34|>` for 1234 centiseconds: `"<|%.2f|>" % seconds`.
    static func timestampSpelling(centiseconds: Int) -> String {
        let fraction = centiseconds % 100
        return "<|\(centiseconds / 100).\(fraction < 10 ? "0" : "")\(fraction)|>"
    }

    /// `<|xx|>` tokens strictly between `<|startoftranscript|>` and `<|translate|>`, by code.
    private static func languageIds(tokens: [String?], idsByToken: [String: Int]) -> [String: Int] {
        guard let start = idsByToken["<|startoftranscript|>"], let end = idsByToken["<|translate|>"], start < end else {
            return [:]
        }
        var languages: [String: Int] = [:]
        for id in (start + 1)..<end {
            guard let token = tokens[id], token.hasPrefix("<|"), token.hasSuffix("|>"), token.count > 4 else {
                continue
            }
            languages[String(token.dropFirst(2).dropLast(2))] = id
        }
        return languages
    }

    /// Text of `ids`, special tokens (and timestamps) skipped, bytes decoded as UTF-8 exactly as
    /// tokenizer.decode(ids, skip_special_tokens=True) does; invalid UTF-8 byte sequences replaced
    /// by U+FFFD as the Python tokenizer does.
    public func decode(_ ids: [Int]) -> String {
        var ids = ids[...]
        // `_strip_prompt`: text after <|startofprev|> is context, not transcript.
        if let first = ids.first, first == id(of: "<|startofprev|>") {
            guard let start = id(of: "<|startoftranscript|>"), let index = ids.firstIndex(of: start) else { return "" }
            ids = ids[index...]
        }
        var bytes: [UInt8] = []
        for id in ids { bytes += self.bytes(of: id) }
        return removingTimestampSpellings(String(decoding: bytes, as: UTF8.self))
    }
}

/// `re.sub(r"<\|(\d+\.\d+)\|>", "", text)`: `\d` is any Unicode decimal digit, as in Python.
func removingTimestampSpellings(_ text: String) -> String {
    let scalars = Array(text.unicodeScalars)
    var kept = String.UnicodeScalarView()
    var index = 0
    while index < scalars.count {
        if let end = timestampSpellingEnd(scalars, from: index) {
            index = end
        } else {
            kept.append(scalars[index])
            index += 1
        }
    }
    return String(kept)
}

/// Whether all of `token` spells a timestamp `<|d+.d+|>`.
private func isTimestampSpelling(_ token: String) -> Bool {
    let scalars = Array(token.unicodeScalars)
    return timestampSpellingEnd(scalars, from: 0) == scalars.count
}

/// The end of the timestamp spelling `<|d+.d+|>` starting at `start`, if one does.
private func timestampSpellingEnd(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
    var index = start
    func take(_ scalar: Unicode.Scalar) -> Bool {
        guard index < scalars.count, scalars[index] == scalar else { return false }
        index += 1
        return true
    }
    func takeDigits() -> Bool {
        let first = index
        while index < scalars.count, scalars[index].properties.numericType == .decimal { index += 1 }
        return index > first
    }
    guard take("<"), take("|"), takeDigits(), take("."), takeDigits(), take("|"), take(">") else { return nil }
    return index
}

/// GPT-2's byte-level spelling: each byte is a printable character, bytes that are printable in
/// Latin-1 stand for themselves and the others for U+0100 onwards, in byte order.
enum ByteLevel {
    /// The byte each character stands for, indexed by the character's scalar value (all below U+0144).
    static let byteOfScalar: [UInt8?] = {
        let printable = Set(Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF))
        var table = [UInt8?](repeating: nil, count: 0x100 + 256 - printable.count)
        var next = 0x100
        for byte in 0...255 {
            if printable.contains(byte) {
                table[byte] = UInt8(byte)
            } else {
                table[next] = UInt8(byte)
                next += 1
            }
        }
        return table
    }()

    /// The bytes `token` spells; a token with a character outside the table (an added token) is
    /// its own UTF-8, as tokenizers' ByteLevel decoder does.
    static func bytes(of token: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteOfScalar.count, let byte = byteOfScalar[value] else { return Array(token.utf8) }
            bytes.append(byte)
        }
        return bytes
    }
}
