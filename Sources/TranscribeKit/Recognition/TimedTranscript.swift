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
}

/// `exp(mean(log x))`: 0 if any value is 0, and 0 for no values.
private func geometricMean(_ values: [Double]) -> Double {
    guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { return 0 }
    return exp(values.reduce(0) { $0 + log($1) } / Double(values.count))
}
