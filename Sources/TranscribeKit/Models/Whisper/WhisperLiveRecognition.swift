import Foundation

/// Whisper on an endless stream by local agreement (LocalAgreement-2 of Macháček, Dabre and
/// Bojar 2023, "Turning Whisper into Real-Time Transcription System"): a buffer of recent audio
/// is decoded again each time `stepSeconds` more have come; a word is final once two decodings in
/// a row agree on it and on every word before it (the paper's 1 s minimum chunk is 0.5 s here:
/// a step on tiny.en takes about that on two cores). The buffer is cut at the end of a finished
/// segment once it is longer than `trimSeconds`, and the final text it no longer holds is the
/// next decoding's prompt. Memory and the cost of a step stay bounded for hours.
final class WhisperLiveRecognition: LiveRecognition {
    static let stepSeconds = 0.5
    static let trimSeconds = 10.0
    /// A buffer this long is cut even without a finished segment (Whisper's window is 30 s).
    static let longestBuffer = 25.0
    /// Seconds heard before a multilingual model's language is settled.
    static let languageSeconds = 3.0
    /// Seconds of audio a word must be followed by before it can be final.
    static let rightContext = 0.5
    /// Characters of final text given as the prompt, as the paper's implementation gives.
    static let promptCharacters = 200

    private let recognizer: WhisperRecognizer
    private let rate: Double
    private var buffer: [Float] = []
    /// The stream's sample at the buffer's start, and samples received.
    private var bufferStart = 0
    private var received = 0
    private var sinceDecoding = 0
    /// The language given, or detected once enough was heard, kept for the rest of the stream.
    private var language: String?
    /// Final words, the latest few (for the prompt and to recognise them when repeated).
    private var confirmed: [WhisperWord] = []
    /// The words of the last decoding after the final ones: the guess to agree with.
    private var hypothesis: [WhisperWord] = []
    /// The end of the last final word, in seconds of the stream.
    private var confirmedEnd = 0.0

    /// Each step decodes once, at temperature 0: a step the model is unsure of is not agreed
    /// with by the next, rather than decoded again at higher temperatures (which would stall the
    /// stream for seconds).
    init(recognizer: WhisperRecognizer) {
        var options = recognizer.options
        options.temperatures = [0]
        // A step's buffer is at most 25 s: a decoding longer than this loops.
        options.sampleLength = 128
        // A step's buffer ends mid-speech, so its window rarely ends on a lone timestamp. Starting
        // the rest at the last timestamp hears the last words again and the steps disagree (live
        // WER 7.7% against 5.4% on the samples, live-latency.py); what the last word's end skips
        // is decoded on the next step anyway.
        options.seekToLastWord = true
        self.recognizer = WhisperRecognizer(recognizer, options: options)
        rate = Double(recognizer.sampleRate)
        language = recognizer.options.language ?? (recognizer.isMultilingual ? nil : "en")
    }

    func feed(_ samples: [Float]) throws -> LiveUpdate? {
        buffer += samples
        received += samples.count
        sinceDecoding += samples.count
        guard Double(sinceDecoding) >= Self.stepSeconds * rate else { return nil }
        return step()
    }

    func finish() throws -> LiveUpdate {
        var update = sinceDecoding > 0 ? step() : LiveUpdate(confirmed: [], tentative: [], heard: heard)
        // At the end nothing more will come to agree with: the last guess stands.
        update.confirmed += hypothesis.map(Self.word)
        update.tentative = []
        hypothesis = []
        return update
    }

    private var heard: Double { Double(received) / rate }

    /// Decodes the buffer, makes final what this decoding and the last agree on, and trims.
    private func step() -> LiveUpdate {
        sinceDecoding = 0
        let offset = Double(bufferStart) / rate
        let transcription = recognizer.transcribe(samples: buffer, initialPrompt: prompt(), language: language)
        // Detected again on each step until 3 s have been heard, then kept.
        if language == nil && heard >= Self.languageSeconds { language = transcription.language }
        // A window that loops (compresses too well: "the the the", ". . .") is not a guess.
        let threshold = recognizer.options.compressionRatioThreshold ?? .infinity
        let words = transcription.segments.filter { $0.compressionRatio <= threshold }.flatMap(\.words).map { word in
            var word = word
            word.start += offset
            word.end += offset
            return word
        }
        // Only what ends after the final words; a decoding that repeats the last few of them
        // at its start (they are still in the buffer) has them left out.
        var new = Array(
            words.drop { ($0.start + $0.end) / 2 <= confirmedEnd }.filter { !Self.text($0).isEmpty && !isSilent($0) })
        // A word whose middle is after the final words but whose start is not (the decodings
        // placed it differently) starts where they end: final words never overlap.
        for index in new.indices where new[index].start < confirmedEnd {
            new[index].start = confirmedEnd
            new[index].end = max(new[index].end, confirmedEnd)
        }
        if let first = new.first, abs(first.start - confirmedEnd) < 1 {
            for count in stride(from: min(5, confirmed.count, new.count), through: 1, by: -1)
            where confirmed.suffix(count).map(Self.text) == new.prefix(count).map(Self.text) {
                new.removeFirst(count)
                break
            }
        }
        // A word is final once two decodings agree on it and audio after it has been heard: at
        // the very end of a buffer that ends in a pause, Whisper tends to hear "Thank you."
        let heardEnd = Double(received) / rate
        let agreed = zip(new, hypothesis).prefix {
            Self.text($0) == Self.text($1) && $0.end <= heardEnd - Self.rightContext
        }.count
        let final = Array(new.prefix(agreed))
        hypothesis = Array(new.dropFirst(agreed))
        confirmed = Array((confirmed + final).suffix(256))
        if let last = final.last { confirmedEnd = last.end }

        // Cut at the end of a finished segment (not the last one, which may still grow) that
        // the final words cover; where Whisper made one segment of it all, at the end of the
        // last final sentence; and at the last final word once the buffer is 5 s longer still.
        if Double(buffer.count) / rate > Self.trimSeconds {
            let ends = transcription.segments.dropLast().map { $0.end + offset }
            let sentenceEnds = confirmed.filter { $0.end > offset && [".", "?", "!"].contains($0.text.last) }
            if let cut = ends.last(where: { $0 <= confirmedEnd }) ?? sentenceEnds.last?.end {
                trim(at: cut)
            } else if Double(buffer.count) / rate > Self.trimSeconds + 5 {
                trim(at: confirmedEnd)
            }
        }
        if Double(buffer.count) / rate > Self.longestBuffer {
            trim(at: max(confirmedEnd, Double(received) / rate - Self.longestBuffer + Self.stepSeconds * 5))
        }
        return LiveUpdate(confirmed: final.map(Self.word), tentative: hypothesis.map(Self.word), heard: heard)
    }

    /// Whether the audio under a word is digital silence (`options.silencePeak`), where Whisper
    /// hears "Thank you." at the end of a buffer rather than nothing.
    private func isSilent(_ word: WhisperWord) -> Bool {
        guard let peak = recognizer.options.silencePeak else { return false }
        let first = max(0, Int(word.start * rate) - bufferStart)
        let last = min(buffer.count, Int(word.end * rate) - bufferStart)
        return first < last && buffer[first..<last].allSatisfy { abs($0) <= peak }
    }

    /// Drops the buffer's audio before `seconds`, and any guess within it.
    private func trim(at seconds: Double) {
        let sample = min(received, Int((seconds * rate).rounded()))
        guard sample > bufferStart else { return }
        buffer.removeFirst(sample - bufferStart)
        bufferStart = sample
        hypothesis.removeAll { $0.start < seconds }
    }

    /// The tokens of the final words the buffer no longer holds, the last `promptCharacters`.
    private func prompt() -> [Int] {
        let start = Double(bufferStart) / rate
        var tokens: [Int] = []
        var characters = 0
        for word in confirmed.reversed() where word.end <= start {
            guard characters < Self.promptCharacters else { break }
            characters += word.text.count
            tokens = word.tokens + tokens
        }
        return tokens
    }

    /// How a word is compared: lower case, letters and digits alone ("Americans." is "americans").
    private static func text(_ word: WhisperWord) -> String {
        String(word.text.lowercased().unicodeScalars.filter(CharacterSet.alphanumerics.contains))
    }

    private static func word(_ word: WhisperWord) -> TimedTranscript.Word {
        TimedTranscript.Word(characters: [
            TimedTranscript.CharacterTiming(
                text: word.text.trimmingCharacters(in: .whitespaces), start: word.start, end: max(word.start, word.end),
                confidence: word.probability)
        ])
    }
}
