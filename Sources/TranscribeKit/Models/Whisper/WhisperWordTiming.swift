import Foundation

/// One word of a Whisper segment, timed by the cross-attention alignment.
public struct WhisperWord: Sendable, Equatable {
    /// As Whisper spells it, with its leading space; punctuation merged into its word.
    public var text: String
    public var tokens: [Int]
    /// Seconds from the start of the input, rounded to 10 ms as faster-whisper rounds them.
    public var start: Double
    public var end: Double
    /// The mean probability of its tokens.
    public var probability: Double
}

extension WhisperRecognizer {
    /// faster-whisper's defaults: punctuation joined to the word after it, or before it.
    static let prependPunctuations = "\"'“¿([{-"
    static let appendPunctuations = "\"'.。,，!！?？:：”)]}、"

    /// Times the words of one window's segments: aligns the window's text tokens with its audio
    /// (`WhisperAlignment`), groups tokens into words, then applies faster-whisper's corrections
    /// (`add_word_timestamps`): words over twice the median length cut at sentence ends and after
    /// pauses, punctuation merged, segment bounds taken from the words. `frames` is the window's
    /// length in log-mel frames; `lastSpeech` the end of the last speech before the window.
    /// Returns the segments with their words and where their speech ended (faster-whisper's
    /// sequential loop ignores the latter and takes the last word's end, as `transcribe` does).
    func addWordTimestamps(
        _ segments: [WhisperSegment], cross: WhisperCrossStates, frames: Int, seek: Int, language: String,
        lastSpeech: Double
    ) -> (segments: [WhisperSegment], lastSpeech: Double) {
        let textPerSegment = segments.map { $0.tokens.filter { $0 < specialTokens.endOfText } }
        let text = textPerSegment.flatMap { $0 }
        var alignment = alignedWords(text, cross: cross, frames: frames, language: language)
        guard !alignment.isEmpty else { return (segments, lastSpeech) }

        let durations = alignment.map { $0.end - $0.start }.filter { $0 != 0 }
        let medianDuration = min(0.7, median(durations))
        let maxDuration = medianDuration * 2
        if !durations.isEmpty {
            // Words at sentence ends no longer than twice the median word.
            let sentenceEnds = ".。!！?？"
            for i in 1..<alignment.count where alignment[i].end - alignment[i].start > maxDuration {
                if sentenceEnds.contains(alignment[i].text) {
                    alignment[i].end = alignment[i].start + maxDuration
                } else if sentenceEnds.contains(alignment[i - 1].text) {
                    alignment[i].start = alignment[i].end - maxDuration
                }
            }
        }
        mergePunctuations(&alignment)

        let timeOffset = Double(seek) / Double(featureExtractor.framesPerSecond)
        var lastSpeech = lastSpeech
        var timed = segments
        var wordIndex = 0
        for (index, segmentText) in textPerSegment.enumerated() {
            var savedTokens = 0
            var words: [WhisperWord] = []
            while wordIndex < alignment.count && savedTokens < segmentText.count {
                let timing = alignment[wordIndex]
                if !timing.text.isEmpty {
                    words.append(
                        WhisperWord(
                            text: timing.text, tokens: timing.tokens,
                            start: roundedToHundredths(timeOffset + timing.start),
                            end: roundedToHundredths(timeOffset + timing.end), probability: timing.probability))
                }
                savedTokens += timing.tokens.count
                wordIndex += 1
            }
            if !words.isEmpty {
                // The first and second word after a pause: no longer than twice the median.
                if words[0].end - lastSpeech > medianDuration * 4
                    && (words[0].end - words[0].start > maxDuration
                        || (words.count > 1 && words[1].end - words[0].start > maxDuration * 2))
                {
                    if words.count > 1 && words[1].end - words[1].start > maxDuration {
                        let boundary = max(words[1].end / 2, words[1].end - maxDuration)
                        words[0].end = boundary
                        words[1].start = boundary
                    }
                    words[0].start = max(0, words[0].end - maxDuration)
                }
                // The segment's own timestamps where the first or last word is too long.
                if timed[index].start < words[0].end && timed[index].start - 0.5 > words[0].start {
                    words[0].start = max(0, min(words[0].end - medianDuration, timed[index].start))
                } else {
                    timed[index].start = words[0].start
                }
                if timed[index].end > words[words.count - 1].start
                    && timed[index].end + 0.5 < words[words.count - 1].end
                {
                    words[words.count - 1].end = max(words[words.count - 1].start + medianDuration, timed[index].end)
                } else {
                    timed[index].end = words[words.count - 1].end
                }
                lastSpeech = timed[index].end
            }
            timed[index].words = words
        }
        return (timed, lastSpeech)
    }

    /// The words of `text` (one window's text tokens) with their times within the window and
    /// their probabilities: faster-whisper's `find_alignment`.
    func alignedWords(_ text: [Int], cross: WhisperCrossStates, frames: Int, language: String) -> [WhisperWord] {
        guard !text.isEmpty, !generation.alignmentHeads.isEmpty else { return [] }
        var sot = [specialTokens.startOfTranscript]
        if isMultilingual {
            if let id = specialTokens.languages[language] { sot.append(id) }
            if let task = options.task == .translate ? specialTokens.translate : specialTokens.transcribe {
                sot.append(task)
            }
        }
        let tokens = sot + [specialTokens.noTimestamps] + text + [specialTokens.endOfText]
        let heads = generation.alignmentHeads.map { (layer: $0[0], head: $0[1]) }
        let (hidden, weights) = model.decoder.crossAttention(tokens, cross: cross, heads: heads)
        // Row `sot.count + i` (`<|notimestamps|>`, then the text) predicts `text[i]`.
        let predicting = rows(hidden, text.indices.map { sot.count + $0 })
        let probabilities = model.decoder.logProbabilities(predicting, of: text, among: specialTokens.endOfText)
            .map { Foundation.exp($0) }
        let alignment = WhisperAlignment(
            weights: weights, keptRows: sot.count..<(tokens.count - 1), frames: frames / 2,
            tokenProbabilities: probabilities)
        let (words, wordTokens) = splitToWordTokens(text + [specialTokens.endOfText], language: language)
        guard wordTokens.count > 1, alignment.jumpFrames.count == text.count + 1 else { return [] }
        var boundaries = [0]
        for tokens in wordTokens.dropLast() { boundaries.append(boundaries[boundaries.count - 1] + tokens.count) }
        let tokensPerSecond = Double(featureExtractor.framesPerSecond) / 2
        return (0..<(boundaries.count - 1)).map { index in
            let (first, last) = (boundaries[index], boundaries[index + 1])
            let slice = probabilities[first..<min(last, probabilities.count)]
            return WhisperWord(
                text: words[index], tokens: wordTokens[index],
                start: Double(alignment.jumpFrames[first]) / tokensPerSecond,
                end: Double(alignment.jumpFrames[last]) / tokensPerSecond,
                probability: slice.isEmpty ? 0 : slice.reduce(0, +) / Double(slice.count))
        }
    }

    /// Tokens grouped into words: at every token that starts with a space, is punctuation or is
    /// special, the tokens of one UTF-8 character kept together; for languages written without
    /// spaces, at every character (faster-whisper's `split_to_word_tokens`).
    func splitToWordTokens(_ tokens: [Int], language: String) -> (words: [String], tokens: [[Int]]) {
        var pieces: [(text: String, tokens: [Int])] = []
        var pending: [Int] = []
        var bytes: [UInt8] = []
        for token in tokens {
            pending.append(token)
            bytes +=
                token >= specialTokens.endOfText
                ? Array((tokenizer.token(of: token) ?? "").utf8) : tokenizer.bytes(of: token)
            if let text = String(validating: bytes, as: UTF8.self) {
                pieces.append((text, pending))
                pending = []
                bytes = []
            }
        }
        if !pending.isEmpty { pieces.append((String(decoding: bytes, as: UTF8.self), pending)) }
        if Self.languagesWithoutSpaces.contains(language) {
            return (pieces.map(\.text), pieces.map(\.tokens))
        }
        var words: [String] = []
        var wordTokens: [[Int]] = []
        let punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
        for piece in pieces {
            let special = piece.tokens[0] >= specialTokens.endOfText
            let withSpace = piece.text.hasPrefix(" ")
            let trimmed = piece.text.trimmingCharacters(in: .whitespacesAndNewlines)
            // Python's `in` on strings: a substring test (the empty string is in every string).
            let isPunctuation = trimmed.isEmpty || punctuation.contains(trimmed)
            if special || withSpace || isPunctuation || words.isEmpty {
                words.append(piece.text)
                wordTokens.append(piece.tokens)
            } else {
                words[words.count - 1] += piece.text
                wordTokens[wordTokens.count - 1] += piece.tokens
            }
        }
        return (words, wordTokens)
    }

    /// Opening punctuation joined to the word after it, closing punctuation to the word before it
    /// (faster-whisper's `merge_punctuations`; `in` there is a substring test, kept here).
    private func mergePunctuations(_ alignment: inout [WhisperWord]) {
        guard alignment.count > 1 else { return }
        var i = alignment.count - 2
        var j = alignment.count - 1
        while i >= 0 {
            let trimmed = alignment[i].text.trimmingCharacters(in: .whitespacesAndNewlines)
            if alignment[i].text.hasPrefix(" ") && (trimmed.isEmpty || Self.prependPunctuations.contains(trimmed)) {
                alignment[j].text = alignment[i].text + alignment[j].text
                alignment[j].tokens = alignment[i].tokens + alignment[j].tokens
                alignment[i].text = ""
                alignment[i].tokens = []
            } else {
                j = i
            }
            i -= 1
        }
        i = 0
        j = 1
        while j < alignment.count {
            let following = alignment[j].text
            if !alignment[i].text.hasSuffix(" ") && (following.isEmpty || Self.appendPunctuations.contains(following)) {
                alignment[i].text += following
                alignment[i].tokens += alignment[j].tokens
                alignment[j].text = ""
                alignment[j].tokens = []
            } else {
                i = j
            }
            j += 1
        }
    }

    /// The words of each segment with their alignment times, each word's confidence its
    /// probability; ranges of the transcript's words per segment. Where a word does not start
    /// with a space (`-gards` after ` up`), it is part of the word before it, as in Whisper's
    /// text, except in languages written without spaces, where each aligned piece is a word. The
    /// text is Whisper's own.
    public func timedTranscript(_ transcription: WhisperTranscription) -> (TimedTranscript, [Range<Int>]) {
        Self.timedTranscript(transcription)
    }

    static func timedTranscript(_ transcription: WhisperTranscription) -> (TimedTranscript, [Range<Int>]) {
        let spaced = !Self.languagesWithoutSpaces.contains(transcription.language)
        var words: [TimedTranscript.Word] = []
        var ranges: [Range<Int>] = []
        for segment in transcription.segments {
            let first = words.count
            for word in segment.words {
                let text = word.text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty else { continue }
                // Kept in order and within the input, as every transcript's words are.
                let start = min(max(words.last?.end ?? 0, word.start), transcription.duration)
                let end = min(max(start, word.end), transcription.duration)
                let piece = TimedTranscript.CharacterTiming(
                    text: text, start: start, end: end, confidence: word.probability)
                if spaced, !word.text.hasPrefix(" "), words.count > first, let previous = words.popLast() {
                    words.append(TimedTranscript.Word(characters: previous.characters + [piece]))
                } else {
                    words.append(TimedTranscript.Word(characters: [piece]))
                }
            }
            ranges.append(first..<words.count)
        }
        let text = spaced ? words.map(\.text).joined(separator: " ") : transcription.text
        return (TimedTranscript(text: text, duration: transcription.duration, words: words), ranges)
    }

    /// Languages whose words are aligned character by character (faster-whisper's list).
    static let languagesWithoutSpaces: Set<String> = ["zh", "ja", "th", "lo", "my", "yue"]
}

/// The median; 0 for no values.
private func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Python's `round(x, 2)`: to the nearest hundredth, ties to even.
private func roundedToHundredths(_ x: Double) -> Double {
    (x * 100).rounded(.toNearestOrEven) / 100
}
