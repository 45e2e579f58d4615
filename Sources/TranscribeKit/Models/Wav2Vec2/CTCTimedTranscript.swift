import Foundation

extension TimedTranscript {
    /// The words of `transcription.tokens`, read with the spelling of `vocabulary`: the delimiter
    /// and any whitespace in a spelling end a word, as they do in `CTCGreedyDecoder.text`.
    public init(_ transcription: CTCTranscription, vocabulary: Vocabulary) {
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
                characters.append(
                    CharacterTiming(text: piece, start: pieceStart, end: pieceEnd, confidence: confidence))
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
}
