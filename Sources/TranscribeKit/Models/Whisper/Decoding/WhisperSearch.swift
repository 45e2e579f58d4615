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
    /// Word times from the cross-attention of the alignment heads (needs `timestamps`).
    public var wordTimestamps = true
    /// With word times, start the next window at the last word's end, as openai-whisper and
    /// faster-whisper do with `word_timestamps=True`. The alignment can stretch a window's last
    /// word over speech after its last timestamp, speech that window did not transcribe, and
    /// seeking past it loses that speech (base: 7.4% WER on a 10-minute recording, against 4.9%
    /// seeking by timestamps). false: the next window starts at the last timestamp, as without
    /// word times, so the text is the reference's without word times, and a word is cut at that
    /// timestamp. Live decoding sets it: its buffer ends mid-speech, and the next step decodes
    /// what it skips.
    public var seekToLastWord = false
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
    /// A window whose text compresses better than this (a decoder stuck in a loop), or whose
    /// average log-probability is below `logProbThreshold`, is decoded again at the next of
    /// `temperatures`, by sampling `bestOf` candidates (seeded: the same input gives the same text).
    public var compressionRatioThreshold: Double? = 2.4
    public var temperatures: [Double] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    public var bestOf = 5
    /// How a window shorter than 30 s is filled. Zero frames, as faster-whisper and transformers'
    /// long-form path do: a short input's log-mel is then exactly transformers'.
    public var padding = WindowPadding.features
    /// A window whose samples all lie within ±`silencePeak` (digital silence, or dither at most a
    /// few steps of 16 bits) is skipped without being decoded. The reference decodes it, and
    /// tiny.en then hears "You" in 3 s of zeros (faster-whisper too: no-speech probability 0.95,
    /// average log-probability -0.97, just above the -1 that would drop it). nil: decode every
    /// window, as the reference does. 10^-4 is -80 dBFS, far below any recording's noise floor.
    public var silencePeak: Float? = 1e-4

    public enum WindowPadding: String, Sendable, CaseIterable {
        /// With silence, before the log-mel: as WhisperFeatureExtractor and openai-whisper do.
        case audio
        /// With zeros, after the log-mel: as faster-whisper (and transformers' long-form path) do.
        case features
    }

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
    /// 0 for greedy and beam search; the sampling temperature of a fallback.
    var temperature = 0.0
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

    /// Decodes one window after `prompt`, whose `<|startoftranscript|>` is at `sotIndex`, given
    /// the decoder's cross-attention keys and values of the window's encoder states (computed once
    /// per window: each temperature of a fallback and the word alignment read them): by greedy or
    /// beam search at temperature 0, else by sampling `bestOf` candidates with `generator` and
    /// keeping the likeliest.
    func decode(
        cross: WhisperCrossStates, prompt: [Int], sotIndex: Int,
        temperature: Double = 0, bestOf: Int = 1, generator: inout SplitMix64
    ) -> WhisperWindowResult {
        guard temperature > 0 else { return decodeBatch(crosses: [cross], prompt: prompt, sotIndex: sotIndex)[0] }
        let decoder = model.decoder
        var caches = [model.emptyCache()]
        let hidden = decoder([prompt], caches: &caches, cross: cross)
        let firstLogits = decoder.logits(rows(hidden, [sotIndex, prompt.count - 1]))
        // Stop at sampleLength tokens, or where the decoder runs out of positions.
        let limit = min(sampleLength, decoder.maxPositions - prompt.count)
        var result = sample(
            first: Array(firstLogits.row(1)), caches: caches, limit: limit, step: Step(decoder: decoder, cross: cross),
            temperature: temperature, candidates: max(1, bestOf), generator: &generator)
        result.noSpeechProb = noSpeechProbability(firstLogits, row: 0)
        result.temperature = temperature
        return result
    }

    /// Decodes several windows together at temperature 0, by greedy or beam search: each step
    /// runs the next token of every beam of every window through the decoder as one batch, so
    /// that each product has rows for all of them. A window's result does not depend on the
    /// others. The prompt's `<|startoftranscript|>` is at `sotIndex`.
    func decodeBatch(crosses: [WhisperCrossStates], prompt: [Int], sotIndex: Int) -> [WhisperWindowResult] {
        let decoder = model.decoder
        let windows = crosses.count
        var promptCaches = Array(repeating: model.emptyCache(), count: windows)
        let hidden = decoder(
            Array(repeating: prompt, count: windows), caches: &promptCaches, crosses: crosses,
            crossOf: Array(0..<windows))
        // Per window: the row after <|startoftranscript|> (no speech) and the prompt's last.
        let firstLogits = decoder.logits(
            rows(hidden, (0..<windows).flatMap { [$0 * prompt.count + sotIndex, ($0 + 1) * prompt.count - 1] }))
        // Stop at sampleLength tokens, or where the decoder runs out of positions.
        let limit = min(sampleLength, decoder.maxPositions - prompt.count)
        var searches = Array(repeating: Search(beamSize: beamSize, patience: patience, limit: limit), count: windows)
        var caches = promptCaches.map { [$0] }
        promptCaches = []
        var logits = (0..<windows).map { rows(firstLogits, [2 * $0 + 1]) }
        while true {
            var tokensIn: [[Int]] = [], cachesIn: [WhisperDecoderCache] = [], crossOf: [Int] = []
            var stepped: [(window: Int, count: Int)] = []
            for window in 0..<windows where !searches[window].done {
                let (next, sources) = searches[window].advance(logits[window], decoder: self)
                if searches[window].done { continue }
                // Each beam takes the cache of the beam it continues. The caches move into the
                // step's batch, so that one no other beam shares grows in place instead of being
                // copied whole at every step (two references to it would make the append copy).
                cachesIn += sources.map { caches[window][$0] }
                caches[window] = []
                tokensIn += next.map { [$0] }
                crossOf += Array(repeating: window, count: next.count)
                stepped.append((window, next.count))
            }
            guard !tokensIn.isEmpty else { break }
            let stepLogits = decoder.logits(decoder(tokensIn, caches: &cachesIn, crosses: crosses, crossOf: crossOf))
            var row = 0
            for (window, count) in stepped {
                caches[window] = Array(cachesIn[row..<(row + count)])
                logits[window] = stepped.count == 1 ? stepLogits : rows(stepLogits, Array(row..<(row + count)))
                row += count
            }
        }
        return (0..<windows).map { window in
            var result = searches[window].result(decoder: self)
            result.noSpeechProb = noSpeechProbability(firstLogits, row: 2 * window)
            return result
        }
    }

    /// The probability of `<|nospeech|>` in a row of logits (the one after `<|startoftranscript|>`).
    private func noSpeechProbability(_ logits: Matrix, row: Int) -> Double {
        tokens.noSpeech.map { Double(exp(logSoftmax(Array(logits.row(row)))[$0])) } ?? 0
    }

    /// Runs new tokens through the decoder and returns each sequence's next-token logits.
    struct Step {
        let decoder: WhisperDecoder
        let cross: WhisperCrossStates

        func callAsFunction(_ tokens: [Int], _ caches: inout [WhisperDecoderCache]) -> Matrix {
            decoder.logits(decoder(tokens.map { [$0] }, caches: &caches, cross: cross))
        }
    }

    /// `candidates` sequences sampled at `temperature`, run together; the one with the best
    /// ranking score wins.
    private func sample(
        first: [Float], caches: [WhisperDecoderCache], limit: Int, step: Step,
        temperature: Double, candidates: Int, generator: inout SplitMix64
    ) -> WhisperWindowResult {
        var sequences = Array(repeating: Hypothesis(), count: candidates)
        var active = Array(0..<candidates)
        // The caches of the active candidates, in their order (the rows of `logits`); each is
        // referenced once, so that it grows in place.
        var caches = Array(repeating: caches[0], count: candidates)
        var logits = Matrix(
            rows: candidates, cols: first.count, data: Array((0..<candidates).map { _ in first }.joined()))
        while !active.isEmpty {
            var next: [Int] = [], tokensIn: [Int] = [], going: [Int] = []
            for (row, index) in active.enumerated() {
                let distribution = distribution(logits, row: row, sampled: sequences[index].tokens[...])
                let token = sampleToken(distribution, temperature: temperature, generator: &generator)
                sequences[index].tokens.append(token)
                sequences[index].logProbs.append(distribution[token])
                sequences[index].score += Double(distribution[token])
                if token != tokens.endOfText && sequences[index].tokens.count < limit {
                    next.append(index)
                    tokensIn.append(token)
                    going.append(row)
                }
            }
            active = next
            guard !active.isEmpty else { break }
            caches = going.map { caches[$0] }
            logits = step(tokensIn, &caches)
        }
        return best(of: sequences)
    }

    /// Draws a token from `softmax(logProbs / temperature)`.
    private func sampleToken(_ logProbs: [Float], temperature: Double, generator: inout SplitMix64) -> Int {
        let scaled = logProbs.map { Double($0) / temperature }
        let maximum = scaled.max() ?? 0
        let weights = scaled.map { $0.isFinite ? exp($0 - maximum) : 0 }
        var target = generator.nextUnit() * weights.reduce(0, +)
        for (token, weight) in weights.enumerated() where weight > 0 {
            target -= weight
            if target <= 0 { return token }
        }
        return argmax(logProbs)
    }

    /// The finished candidate with the best ranking score, its end of text removed.
    func best(of candidates: [Hypothesis]) -> WhisperWindowResult {
        let best =
            candidates.enumerated().max { lhs, rhs in
                let (l, r) = (rankingScore(lhs.element), rankingScore(rhs.element))
                return l != r ? l < r : lhs.offset > rhs.offset
            }?.element ?? Hypothesis()
        var chosen = best
        if chosen.tokens.last == tokens.endOfText {
            chosen.tokens.removeLast()
            chosen.logProbs.removeLast()
        }
        return WhisperWindowResult(
            tokens: chosen.tokens, tokenLogProbs: chosen.logProbs, sumLogProb: chosen.score, noSpeechProb: 0)
    }

    /// A sequence of the beam search: its sampled tokens, their log-probabilities and their sum.
    struct Hypothesis {
        var tokens: [Int] = []
        var logProbs: [Float] = []
        var score = 0.0
    }

    /// Log-probability per token, or with Google NMT's length penalty.
    private func rankingScore(_ hypothesis: Hypothesis) -> Double {
        let length = Double(hypothesis.tokens.filter { $0 != tokens.endOfText }.count)
        let penalty = lengthPenalty.map { pow((5 + length) / 6, $0) } ?? length
        return penalty > 0 ? hypothesis.score / penalty : hypothesis.score
    }
}

extension WhisperWindowDecoder {
    /// Row `row`'s next-token log-probabilities once the rules (`filter`) are applied for the
    /// tokens its sequence has `sampled`.
    func distribution(_ logits: Matrix, row: Int, sampled: ArraySlice<Int>) -> [Float] {
        var values = Array(logits.row(row))
        filter.apply(&values, sampled: sampled)
        return logSoftmax(values)
    }

    /// Each row's `distribution` with its `best` likeliest tokens. The rows go over the threads
    /// side by side; each is computed as it would be alone.
    func distributions(_ logits: Matrix, sampled: [ArraySlice<Int>], best: Int) -> [(
        distribution: [Float], best: [Int]
    )] {
        var results = [(distribution: [Float], best: [Int])](repeating: ([], []), count: logits.rows)
        results.withUnsafeMutableBufferPointer { results in
            Parallel.forEach(logits.rows, grain: 1) { range in
                for index in range {
                    let distribution = distribution(logits, row: index, sampled: sampled[index])
                    results[index] = (distribution, topK(distribution, best))
                }
            }
        }
        return results
    }
}

/// The given rows of `matrix`, in order.
func rows(_ matrix: Matrix, _ indices: [Int]) -> Matrix {
    var data: [Float] = []
    data.reserveCapacity(indices.count * matrix.cols)
    for index in indices { data += matrix.row(index) }
    return Matrix(rows: indices.count, cols: matrix.cols, data: data)
}

extension WhisperWindowDecoder {
    /// One window's greedy or beam search at temperature 0, a step at a time, so that several
    /// windows can share each run of the decoder (`decodeBatch`). `advance` takes the logits of
    /// the window's live sequences and returns the tokens to run next, with the sequence each
    /// continues (whose cache it takes); the search is `done` when there are none.
    struct Search {
        let beamSize: Int
        let maxCandidates: Int
        let limit: Int
        private(set) var done = false
        private var beams = [Hypothesis()]
        private var finished: [Hypothesis] = []

        init(beamSize: Int, patience: Double, limit: Int) {
            self.beamSize = beamSize
            self.limit = limit
            maxCandidates = max(1, Int((Double(beamSize) * patience).rounded()))
        }

        /// One step of beam search as CTranslate2 (faster-whisper's engine) takes it: the `2 *
        /// beamSize` best continuations of all beams together; an end of text among the first
        /// `beamSize` of them finishes a candidate, and its place goes to the next continuation
        /// further down that does not end. openai-whisper's search instead finishes every end of
        /// text met before `beamSize` live continuations are found, however far down, and keeps at
        /// most `maxCandidates`: it finishes short candidates sooner and stops before a longer one
        /// (a comma more) can end, which faster-whisper's length-normalised ranking would prefer.
        mutating func advance(_ logits: Matrix, decoder: WhisperWindowDecoder) -> (tokens: [Int], sources: [Int]) {
            if beamSize == 1 { return advanceGreedily(logits, decoder: decoder) }
            let width = 2 * beamSize
            var candidates: [(hypothesis: Hypothesis, source: Int)] = []
            let scored = decoder.distributions(logits, sampled: beams.map { $0.tokens[...] }, best: width)
            for (index, beam) in beams.enumerated() {
                let (distribution, best) = scored[index]
                for token in best {
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
            }.prefix(width).map(\.element)
            func ends(_ candidate: (hypothesis: Hypothesis, source: Int)) -> Bool {
                candidate.hypothesis.tokens.last == decoder.tokens.endOfText
            }
            var nextBeams: [Hypothesis] = [], sources: [Int] = []
            var replacement = beamSize
            for candidate in ranked.prefix(beamSize) {
                var alive = candidate
                if ends(candidate) {
                    finished.append(candidate.hypothesis)
                    while replacement < ranked.count && ends(ranked[replacement]) { replacement += 1 }
                    guard replacement < ranked.count else { continue }
                    alive = ranked[replacement]
                    replacement += 1
                }
                nextBeams.append(alive.hypothesis)
                sources.append(alive.source)
            }
            beams = nextBeams
            if finished.count >= maxCandidates || beams.isEmpty || beams[0].tokens.count >= limit {
                done = true
                return ([], [])
            }
            return (beams.map { $0.tokens.last! }, sources)
        }

        /// The likeliest token each step, until the end of text or `limit` tokens.
        private mutating func advanceGreedily(_ logits: Matrix, decoder: WhisperWindowDecoder) -> (
            tokens: [Int], sources: [Int]
        ) {
            let distribution = decoder.distribution(logits, row: 0, sampled: beams[0].tokens[...])
            let token = argmax(distribution)
            beams[0].score += Double(distribution[token])
            if token != decoder.tokens.endOfText {
                beams[0].tokens.append(token)
                beams[0].logProbs.append(distribution[token])
            }
            if token == decoder.tokens.endOfText || beams[0].tokens.count >= limit {
                done = true
                return ([], [])
            }
            return ([token], [0])
        }

        /// The result once `done`: greedy's sequence, or the best finished candidate (with too few
        /// finished, the best unfinished ones count as ended) without its end of text.
        func result(decoder: WhisperWindowDecoder) -> WhisperWindowResult {
            if beamSize == 1 {
                return WhisperWindowResult(
                    tokens: beams[0].tokens, tokenLogProbs: beams[0].logProbs, sumLogProb: beams[0].score,
                    noSpeechProb: 0)
            }
            var finished = self.finished
            if finished.count < beamSize {
                for beam in beams.sorted(by: { $0.score > $1.score }) {
                    finished.append(beam)
                    if finished.count >= beamSize { break }
                }
            }
            return decoder.best(of: finished)
        }
    }
}
