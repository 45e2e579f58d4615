import Foundation

/// The rules Whisper's reference decoder applies to each step's logits before choosing a token:
/// no blank start, suppressed tokens, and timestamp grammar.
/// https://github.com/openai/whisper/blob/main/whisper/decoding.py (`SuppressBlank`, `SuppressTokens`, `ApplyTimestampRules`)
struct WhisperLogitFilter: Sendable {
    let tokens: WhisperSpecialTokens
    /// Never allowed.
    let suppress: [Int]
    /// Not allowed as the first sampled token.
    let beginSuppress: [Int]
    let timestamps: Bool
    /// Latest first timestamp, in steps; nil: no limit.
    let maxInitialTimestampIndex: Int?

    /// Applies the rules in place to `logits`, the next-token logits of a sequence that has
    /// sampled `sampled` so far (after its prompt).
    func apply(_ logits: inout [Float], sampled: ArraySlice<Int>) {
        let vocab = logits.count
        func forbid(_ range: Range<Int>) {
            for id in range.clamped(to: 0..<vocab) { logits[id] = -.infinity }
        }
        if sampled.isEmpty {
            for id in beginSuppress where id < vocab { logits[id] = -.infinity }
        }
        for id in suppress where id < vocab { logits[id] = -.infinity }
        guard timestamps else { return }

        let timestampBegin = tokens.timestampBegin
        forbid(tokens.noTimestamps..<(tokens.noTimestamps + 1))
        // Timestamps come in pairs (a segment's end, the next one's start), except before the end of text.
        let lastWasTimestamp = sampled.last.map(tokens.isTimestamp) ?? false
        let penultimateWasTimestamp = sampled.count < 2 || tokens.isTimestamp(sampled[sampled.endIndex - 2])
        if lastWasTimestamp {
            if penultimateWasTimestamp {
                forbid(timestampBegin..<vocab)
            } else {
                forbid(0..<tokens.endOfText)
            }
        }
        // Time never goes back, and a segment is never empty.
        if let lastTimestamp = sampled.last(where: tokens.isTimestamp) {
            let first = lastWasTimestamp && !penultimateWasTimestamp ? lastTimestamp : lastTimestamp + 1
            forbid(timestampBegin..<first)
        }
        if sampled.isEmpty {
            // A transcript starts with a timestamp, no later than the initial limit.
            forbid(0..<timestampBegin)
            if let maxInitialTimestampIndex {
                forbid((timestampBegin + maxInitialTimestampIndex + 1)..<vocab)
            }
        }
        // When the timestamps together are likelier than any one text token, take a timestamp.
        let logProbs = logSoftmax(logits)
        let timestampLogProb = logSumExp(logProbs[timestampBegin...])
        let maxTextLogProb = logProbs[..<timestampBegin].max() ?? -.infinity
        if timestampLogProb > maxTextLogProb {
            forbid(0..<timestampBegin)
        }
    }
}
