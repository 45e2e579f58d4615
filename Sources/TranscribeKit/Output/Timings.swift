import Foundation

/// A transcript with the time and confidence of every word and of every token within it: what
/// the subtitle, JSON and TSV writers print.
///
/// Times are seconds from the start of the input, at the model's frame resolution (0.02 s for
/// base-960h). They are monotonic: each word starts no earlier than the previous one ends, and
/// every time lies in `[0, duration]`.
public struct TimedTranscript: Sendable, Equatable, Codable {
    /// The words joined by single spaces: exactly what `CTCGreedyDecoder.text` prints.
    public let text: String
    /// Seconds of audio transcribed.
    public let duration: Double
    public let words: [Word]

    /// One emitted token within a word (a letter for character vocabularies like base-960h's).
    public struct CharacterTiming: Sendable, Equatable, Codable {
        public let text: String
        /// Seconds: the token's first frame, and one past its last frame.
        public let start: Double
        public let end: Double
        /// The mean, over the frames the token was emitted in, of the probability the model gave
        /// it there: `mean(exp(logProbs[frame, id]))`, in `[0, 1]`.
        public let confidence: Double

        public init(text: String, start: Double, end: Double, confidence: Double) {
            self.text = text
            self.start = start
            self.end = end
            self.confidence = confidence
        }
    }

    /// A maximal run of tokens between word delimiters.
    public struct Word: Sendable, Equatable, Codable {
        public let text: String
        /// Seconds: its first token's start and its last token's end.
        public let start: Double
        public let end: Double
        /// How sure the model was of the word, from 0 to 1: the geometric mean of its letters'
        /// confidences, where a letter's confidence is the probability the model gave it,
        /// averaged over the audio frames in which it was heard.
        public let confidence: Double
        public let characters: [CharacterTiming]

        /// A word made of `characters`, which must not be empty.
        public init(characters: [CharacterTiming]) {
            self.characters = characters
            text = characters.map(\.text).joined()
            start = characters.first?.start ?? 0
            end = characters.last?.end ?? 0
            confidence = geometricMean(characters.map(\.confidence))
        }
    }

    public init(text: String, duration: Double, words: [Word]) {
        self.text = text
        self.duration = duration
        self.words = words
    }

    /// The words of `transcription.tokens`, read with the spelling of `vocabulary`: the delimiter
    /// and any whitespace in a spelling end a word, as they do in `CTCGreedyDecoder.text`.
    public init(_ transcription: Transcription, vocabulary: Vocabulary) {
        let duration = max(0, transcription.duration)
        var words: [Word] = []
        var characters: [CharacterTiming] = []  // of the word being read
        var previousEnd = 0.0
        func endWord() {
            if !characters.isEmpty { words.append(Word(characters: characters)) }
            characters = []
        }
        for (token, confidence) in zip(transcription.tokens, transcription.tokenConfidences)
        where vocabulary.tokens.indices.contains(token.id) {
            let spelling = token.id == vocabulary.wordDelimiterId ? " " : vocabulary.tokens[token.id]
            let start = min(Double(token.frames.lowerBound) * transcription.frameDuration, duration)
            let end = min(Double(token.frames.upperBound) * transcription.frameDuration, duration)
            var piece = ""
            func endPiece() {
                guard !piece.isEmpty else { return }
                // Only a spelling with whitespace inside puts one token in two words; the second
                // then starts where the first ends, so words never overlap.
                let pieceStart = max(start, previousEnd)
                let pieceEnd = max(end, pieceStart)
                characters.append(CharacterTiming(text: piece, start: pieceStart, end: pieceEnd, confidence: confidence))
                previousEnd = pieceEnd
                piece = ""
            }
            for character in spelling {
                if character.isWhitespace {
                    endPiece()
                    endWord()
                } else {
                    piece.append(character)
                }
            }
            endPiece()
        }
        endWord()
        self.init(text: words.map(\.text).joined(separator: " "), duration: duration, words: words)
    }

    /// The same transcript with its text, words and characters in `textCase`; the words still
    /// join to the text.
    public func cased(_ textCase: TextCase) -> TimedTranscript {
        var startsSentence = true
        let casedWords = words.map { word in
            let cased = textCase.apply(to: word, startsSentence: startsSentence)
            startsSentence = word.text.last.map { sentenceEnds.contains($0) } ?? false
            return cased
        }
        return TimedTranscript(text: casedWords.map(\.text).joined(separator: " "), duration: duration, words: casedWords)
    }
}

/// How the letters of a transcript are cased. base-960h spells in capitals.
public enum TextCase: String, CaseIterable, Sendable {
    /// `HELLO I'M HERE`
    case upper
    /// `hello i'm here`
    case lower
    /// `Hello I'm here`: lower case, but the first letter of the transcript (and of any word after
    /// a `.`, `!` or `?`, for vocabularies that spell them) and the pronoun `I` (also in `I'm`,
    /// `I'll`, `I've`, `I'd`) are capitals. Apostrophes are kept.
    case sentence

    /// `word` with each of its characters cased.
    func apply(to word: TimedTranscript.Word, startsSentence: Bool) -> TimedTranscript.Word {
        var characters = word.characters.map { character in
            TimedTranscript.CharacterTiming(
                text: self == .upper ? character.text.uppercased() : character.text.lowercased(),
                start: character.start, end: character.end, confidence: character.confidence)
        }
        if self == .sentence && (startsSentence || pronounsI.contains(word.text.lowercased())) {
            capitaliseFirstLetter(&characters)
        }
        return TimedTranscript.Word(characters: characters)
    }
}

private let sentenceEnds: Set<Character> = [".", "!", "?"]
private let pronounsI: Set<String> = ["i", "i'm", "i'll", "i've", "i'd"]

/// Upper-cases the first letter of the first character that has one.
private func capitaliseFirstLetter(_ characters: inout [TimedTranscript.CharacterTiming]) {
    guard let index = characters.firstIndex(where: { $0.text.contains(where: \.isLetter) }) else { return }
    let character = characters[index]
    var text = character.text
    guard let letter = text.firstIndex(where: \.isLetter) else { return }
    text.replaceSubrange(letter...letter, with: text[letter].uppercased())
    characters[index] = .init(text: text, start: character.start, end: character.end, confidence: character.confidence)
}

/// `exp(mean(log x))`: 0 if any value is 0, and 0 for no values.
private func geometricMean(_ values: [Double]) -> Double {
    guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { return 0 }
    return exp(values.reduce(0) { $0 + log($1) } / Double(values.count))
}
