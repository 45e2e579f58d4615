import Foundation

/// Greedy CTC decoding of log-probabilities that arrive window by window: the same tokens as
/// `CTCGreedyDecoder.tokens(bestPath(_:))` over the whole input, each with its confidence, while
/// the frames themselves are dropped once read (unless kept for --emissions). An endless stream's
/// memory then grows with its transcript only, not with its length.
struct CTCStreamDecoder {
    let decoder: CTCGreedyDecoder
    let vocabSize: Int
    private(set) var tokens: [CTCToken] = []
    /// Per token: `mean(exp(logProbs[frame, id]))` over its frames, summed in frame order.
    private(set) var confidences: [Double] = []
    /// `(frames, vocab)` row-major, when kept.
    private var keptLogProbs: [Float]?
    private(set) var frames = 0
    /// The run of equal argmax frames in progress: its id, first frame and summed probability.
    private var run: (id: Int, start: Int, probability: Double)?

    init(decoder: CTCGreedyDecoder, vocabSize: Int, keepingLogProbs: Bool) {
        self.decoder = decoder
        self.vocabSize = vocabSize
        keptLogProbs = keepingLogProbs ? [] : nil
    }

    /// Reads the next frames: `(frames, vocab)` log-softmax rows.
    mutating func append(_ logProbs: Matrix) {
        precondition(logProbs.cols == vocabSize, "CTCStreamDecoder: rows must have one value per token")
        for (row, id) in decoder.bestPath(logProbs).enumerated() {
            let probability = exp(Double(logProbs[row, id]))
            if let current = run, current.id == id {
                run?.probability = current.probability + probability
            } else {
                endRun(at: frames + row)
                run = (id, frames + row, probability)
            }
        }
        frames += logProbs.rows
        keptLogProbs?.append(contentsOf: logProbs.data)
    }

    /// How many of the tokens a word delimiter has closed: those up to the last delimiter. The
    /// word after it is still open: later frames may add letters to it.
    var closedTokens: Int {
        tokens.lastIndex { $0.id == decoder.vocabulary.wordDelimiterId }.map { $0 + 1 } ?? 0
    }

    /// The words of `tokens[range]`, at `frameDuration` seconds a frame, within `heard` seconds.
    func words(_ range: Range<Int>, frameDuration: Double, heard: Double) -> TimedTranscript {
        let transcription = CTCTranscription(
            text: "", logProbs: Matrix(zeros: 0, vocabSize), tokens: Array(tokens[range]),
            tokenConfidences: Array(confidences[range]), frameDuration: frameDuration, duration: heard)
        return TimedTranscript(transcription, vocabulary: decoder.vocabulary)
    }

    /// Forgets the first `count` tokens (a live stream's, once printed); frames keep counting.
    mutating func removeFirstTokens(_ count: Int) {
        tokens.removeFirst(count)
        confidences.removeFirst(count)
    }

    /// Ends the input: the last run becomes a token.
    mutating func finish() { endRun(at: frames) }

    /// The log-probabilities read so far: all of them if kept, else none (`(0, vocab)`).
    var logProbs: Matrix {
        guard let keptLogProbs else { return Matrix(zeros: 0, vocabSize) }
        return Matrix(rows: frames, cols: vocabSize, data: keptLogProbs)
    }

    /// The run in progress, which ends before frame `end`, becomes a token unless it is special.
    private mutating func endRun(at end: Int) {
        guard let current = run else { return }
        run = nil
        guard !decoder.vocabulary.specialIds.contains(current.id) else { return }
        tokens.append(CTCToken(id: current.id, frames: current.start..<end))
        confidences.append(current.probability / Double(end - current.start))
    }
}

/// `mean(exp(logProbs[frame, token.id]))` over the token's frames, in frame order; 0 where none
/// of its frames is in `logProbs`.
func tokenConfidence(_ token: CTCToken, in logProbs: Matrix) -> Double {
    guard token.id >= 0, token.id < logProbs.cols else { return 0 }
    let frames = token.frames.clamped(to: 0..<logProbs.rows)
    guard !frames.isEmpty else { return 0 }
    let total = frames.reduce(0.0) { $0 + exp(Double(logProbs[$1, token.id])) }
    return total / Double(frames.count)
}
