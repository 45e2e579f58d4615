import Foundation

/// How Whisper decodes: task, language, search and the reference algorithm's thresholds.
/// The defaults are faster-whisper's (beam search of 5, timestamps, previous text as prompt).
public struct WhisperDecodingOptions: Sendable, Equatable {
    public enum Task: String, Sendable, CaseIterable { case transcribe, translate }

    public var task = Task.transcribe
    /// A language code (`"en"`, `"de"`); nil: detected from the first window (multilingual models).
    public var language: String?
    /// Beams; 1 is greedy decoding.
    public var beamSize = 5
    /// Finished candidates collected before a beam search stops: `beamSize * patience`.
    public var patience = 1.0
    /// nil: candidates are ranked by log-probability per token; else by Google NMT's length penalty.
    public var lengthPenalty: Double?
    /// Emit segment timestamps (and cut long recordings at them).
    public var timestamps = true
    /// Seconds the first timestamp of a window may be at most.
    public var maxInitialTimestamp = 1.0
    /// Forbid a lone space or the end of text as a window's first token.
    public var suppressBlank = true
    /// Also forbid the task, language-model and no-speech control tokens, as the reference does.
    public var suppressControlTokens = true
    /// Tokens sampled per window at most; nil: half the decoder's positions (224).
    public var sampleLength: Int?
    /// Prompt each window with the text of the previous ones.
    public var conditionOnPreviousText = true
    /// A window whose no-speech probability is above this, and whose average log-probability is
    /// below `logProbThreshold`, is silence: its text is dropped.
    public var noSpeechThreshold: Double? = 0.6
    public var logProbThreshold: Double? = -1.0

    public init() {}
}

/// What one 30 s window decoded to.
struct WhisperWindowResult: Sendable {
    /// The sampled tokens, without the prompt and the end of text.
    var tokens: [Int]
    /// Each sampled token's log-probability under the filtered distribution it was chosen from.
    var tokenLogProbs: [Float]
    /// The sum of the tokens' log-probabilities, the end of text's included.
    var sumLogProb: Double
    /// `sumLogProb / (tokens + 1)`.
    var averageLogProb: Double { sumLogProb / Double(tokens.count + 1) }
    /// The probability of `<|nospeech|>` right after `<|startoftranscript|>`.
    var noSpeechProb: Double
}

/// Greedy and beam search over one window, as Whisper's reference decoder does them.
/// https://github.com/openai/whisper/blob/main/whisper/decoding.py (`GreedyDecoder`, `BeamSearchDecoder`)
struct WhisperWindowDecoder: Sendable {
    let model: WhisperForConditionalGeneration
    let tokens: WhisperSpecialTokens
    let filter: WhisperLogitFilter
    let beamSize: Int
    let patience: Double
    let lengthPenalty: Double?
    let sampleLength: Int

    /// Decodes one window's encoder states after `prompt`, whose `<|startoftranscript|>` is at
    /// `sotIndex`.
    func decode(encoded: Matrix, prompt: [Int], sotIndex: Int) -> WhisperWindowResult {
        let decoder = model.decoder
        let cross = model.crossStates(encoded)
        var caches = [model.emptyCache()]
        let hidden = decoder([prompt], caches: &caches, cross: cross)
        let firstLogits = decoder.logits(rows(hidden, [sotIndex, prompt.count - 1]))
        let noSpeechProb = tokens.noSpeech.map { Double(exp(logSoftmax(Array(firstLogits.row(0)))[$0])) } ?? 0
        // Stop at sampleLength tokens, or where the decoder runs out of positions.
        let limit = min(sampleLength, decoder.maxPositions - prompt.count)
        let step = Step(decoder: decoder, cross: cross)
        var result = beamSize > 1
            ? beamSearch(first: Array(firstLogits.row(1)), caches: caches, limit: limit, step: step)
            : greedy(first: Array(firstLogits.row(1)), caches: caches, limit: limit, step: step)
        result.noSpeechProb = noSpeechProb
        return result
    }

    /// Runs new tokens through the decoder and returns each sequence's next-token logits.
    struct Step {
        let decoder: WhisperDecoder
        let cross: WhisperCrossStates

        func callAsFunction(_ tokens: [Int], _ caches: inout [WhisperDecoderCache]) -> Matrix {
            decoder.logits(decoder(tokens.map { [$0] }, caches: &caches, cross: cross))
        }
    }

    private func greedy(first: [Float], caches: [WhisperDecoderCache], limit: Int, step: Step) -> WhisperWindowResult {
        var caches = caches
        var logits = first
        var sampled: [Int] = [], logProbs: [Float] = []
        var sum = 0.0
        while true {
            filter.apply(&logits, sampled: sampled[...])
            let distribution = logSoftmax(logits)
            let token = argmax(distribution)
            sum += Double(distribution[token])
            if token == tokens.endOfText { break }
            sampled.append(token)
            logProbs.append(distribution[token])
            if sampled.count >= limit { break }
            logits = Array(step([token], &caches).row(0))
        }
        return WhisperWindowResult(tokens: sampled, tokenLogProbs: logProbs, sumLogProb: sum, noSpeechProb: 0)
    }

    /// A sequence of the beam search: its sampled tokens, their log-probabilities and their sum.
    private struct Hypothesis {
        var tokens: [Int] = []
        var logProbs: [Float] = []
        var score = 0.0
    }

    private func beamSearch(first: [Float], caches: [WhisperDecoderCache], limit: Int, step: Step) -> WhisperWindowResult {
        let maxCandidates = max(1, Int((Double(beamSize) * patience).rounded()))
        var beams = [Hypothesis()]
        var caches = caches
        var logits = Matrix(rows: 1, cols: first.count, data: first)
        var finished: [Hypothesis] = []
        for _ in 0..<max(limit, 1) {
            // Every beam's best beamSize + 1 continuations, ranked together.
            var candidates: [(hypothesis: Hypothesis, source: Int)] = []
            for (index, beam) in beams.enumerated() {
                var row = Array(logits.row(index))
                filter.apply(&row, sampled: beam.tokens[...])
                let distribution = logSoftmax(row)
                for token in topK(distribution, beamSize + 1) {
                    var next = beam
                    next.tokens.append(token)
                    next.logProbs.append(distribution[token])
                    next.score += Double(distribution[token])
                    candidates.append((next, index))
                }
            }
            // A stable sort keeps the reference's order among equal scores.
            let ranked = candidates.enumerated().sorted {
                $0.element.hypothesis.score != $1.element.hypothesis.score
                    ? $0.element.hypothesis.score > $1.element.hypothesis.score : $0.offset < $1.offset
            }.map(\.element)
            var nextBeams: [Hypothesis] = [], sources: [Int] = []
            var newlyFinished: [Hypothesis] = []
            for candidate in ranked {
                if candidate.hypothesis.tokens.last == tokens.endOfText {
                    newlyFinished.append(candidate.hypothesis)
                } else {
                    nextBeams.append(candidate.hypothesis)
                    sources.append(candidate.source)
                    if nextBeams.count == beamSize { break }
                }
            }
            for hypothesis in newlyFinished where finished.count < maxCandidates { finished.append(hypothesis) }
            beams = nextBeams
            if finished.count >= maxCandidates || beams.isEmpty || beams[0].tokens.count >= limit { break }
            caches = sources.map { caches[$0] }
            logits = step(beams.map { $0.tokens.last! }, &caches)
        }
        // Too few finished: the best unfinished ones count as ended here.
        if finished.count < beamSize {
            for beam in beams.sorted(by: { $0.score > $1.score }) {
                finished.append(beam)
                if finished.count >= beamSize { break }
            }
        }
        let best = finished.enumerated().max { lhs, rhs in
            let (l, r) = (rankingScore(lhs.element), rankingScore(rhs.element))
            return l != r ? l < r : lhs.offset > rhs.offset
        }?.element ?? Hypothesis()
        var chosen = best
        if chosen.tokens.last == tokens.endOfText {
            chosen.tokens.removeLast()
            chosen.logProbs.removeLast()
        }
        return WhisperWindowResult(tokens: chosen.tokens, tokenLogProbs: chosen.logProbs, sumLogProb: chosen.score, noSpeechProb: 0)
    }

    /// Log-probability per token, or with Google NMT's length penalty.
    private func rankingScore(_ hypothesis: Hypothesis) -> Double {
        let length = Double(hypothesis.tokens.filter { $0 != tokens.endOfText }.count)
        let penalty = lengthPenalty.map { pow((5 + length) / 6, $0) } ?? length
        return penalty > 0 ? hypothesis.score / penalty : hypothesis.score
    }
}

/// The given rows of `matrix`, in order.
func rows(_ matrix: Matrix, _ indices: [Int]) -> Matrix {
    Matrix(rows: indices.count, cols: matrix.cols, data: indices.flatMap { matrix.row($0) })
}

/// The index of the first largest value.
func argmax(_ values: [Float]) -> Int {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}

/// The indices of the `k` largest values, largest first; ties by index.
func topK(_ values: [Float], _ k: Int) -> [Int] {
    var best: [Int] = []
    for i in values.indices {
        guard best.count < k || values[i] > values[best[best.count - 1]] else { continue }
        var position = best.count
        while position > 0 && values[best[position - 1]] < values[i] { position -= 1 }
        best.insert(i, at: position)
        if best.count > k { best.removeLast() }
    }
    return best
}
