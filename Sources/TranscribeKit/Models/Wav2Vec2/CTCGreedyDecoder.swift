/// One emitted token of a greedy CTC path: a run of equal argmax frames.
public struct CTCToken: Sendable, Equatable {
    public let id: Int
    /// The run's first frame and one past its last.
    public let frames: Range<Int>
}

/// Greedy CTC decoding: the argmax of each frame, repeats collapsed, blanks and other special
/// tokens dropped, the word delimiter read as a space.
public struct CTCGreedyDecoder: Sendable {
    public let vocabulary: Vocabulary

    public init(vocabulary: Vocabulary) { self.vocabulary = vocabulary }

    /// The most probable token of each frame of `(frames, vocab)` emissions; the first on ties,
    /// as torch.argmax.
    public func bestPath(_ emissions: Matrix) -> [Int] {
        (0..<emissions.rows).map { argmax(emissions.row($0)) }
    }

    /// Runs of equal ids in `path`, blanks and special tokens removed.
    public func tokens(_ path: [Int]) -> [CTCToken] {
        var tokens: [CTCToken] = []
        var start = 0
        while start < path.count {
            var end = start + 1
            while end < path.count && path[end] == path[start] { end += 1 }
            if !vocabulary.specialIds.contains(path[start]) {
                tokens.append(CTCToken(id: path[start], frames: start..<end))
            }
            start = end
        }
        return tokens
    }

    /// The text of `tokens`: the delimiter becomes a space, runs of spaces collapse, ends trimmed.
    public func text(_ tokens: [CTCToken]) -> String {
        var text = ""
        var pendingSpace = false
        for token in tokens {
            let spelling = token.id == vocabulary.wordDelimiterId ? " " : vocabulary.tokens[token.id]
            for character in spelling {
                if character.isWhitespace {
                    pendingSpace = !text.isEmpty
                } else {
                    if pendingSpace { text.append(" ") }
                    pendingSpace = false
                    text.append(character)
                }
            }
        }
        return text
    }

    public func decode(_ emissions: Matrix) -> String { text(tokens(bestPath(emissions))) }
}
