import Foundation

extension WhisperRecognizer {
    /// The words of each segment with times spread over the segment in proportion to their
    /// length (Whisper times segments, not words), each token's confidence its probability.
    public func timedTranscript(_ transcription: WhisperTranscription) -> (TimedTranscript, [Range<Int>]) {
        var words: [TimedTranscript.Word] = []
        var ranges: [Range<Int>] = []
        for segment in transcription.segments {
            let first = words.count
            // Text pieces: whole UTF-8 characters, each from one token or a few that share a character.
            var pieces: [(text: String, logProb: Float)] = []
            var pending: [UInt8] = [], pendingLogProb: Float = 0
            for (token, logProb) in zip(segment.tokens.filter { $0 < specialTokens.endOfText }, segment.textLogProbs) {
                pending += tokenizer.bytes(of: token)
                pendingLogProb += logProb
                if let text = String(validating: pending, as: UTF8.self) {
                    pieces.append((text, pendingLogProb))
                    pending = []
                    pendingLogProb = 0
                }
            }
            if !pending.isEmpty { pieces.append((String(decoding: pending, as: UTF8.self), pendingLogProb)) }
            let totalLength = pieces.reduce(0) { $0 + $1.text.trimmingCharacters(in: .whitespaces).count }
            let span = segment.end - segment.start
            var consumed = 0
            var characters: [TimedTranscript.CharacterTiming] = []
            func endWord() {
                if !characters.isEmpty { words.append(TimedTranscript.Word(characters: characters)) }
                characters = []
            }
            for piece in pieces {
                if piece.text.first?.isWhitespace == true { endWord() }
                let text = piece.text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty else { continue }
                let start = segment.start + span * Double(consumed) / Double(max(totalLength, 1))
                consumed += text.count
                let end = segment.start + span * Double(consumed) / Double(max(totalLength, 1))
                characters.append(.init(text: text, start: start, end: end, confidence: Double(exp(piece.logProb))))
                if piece.text.last?.isWhitespace == true { endWord() }
            }
            endWord()
            ranges.append(first..<words.count)
        }
        let transcript = TimedTranscript(
            text: words.map(\.text).joined(separator: " "), duration: transcription.duration, words: words)
        return (transcript, ranges)
    }
}
