import Foundation

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

extension TimedTranscript {
    /// The same transcript with its text, words and characters in `textCase`; the words still
    /// join to the text.
    public func cased(_ textCase: TextCase) -> TimedTranscript {
        var startsSentence = true
        let casedWords = words.map { word in
            let cased = textCase.apply(to: word, startsSentence: startsSentence)
            startsSentence = word.text.last.map { sentenceEnds.contains($0) } ?? false
            return cased
        }
        return TimedTranscript(
            text: casedWords.map(\.text).joined(separator: " "), duration: duration, words: casedWords)
    }
}
