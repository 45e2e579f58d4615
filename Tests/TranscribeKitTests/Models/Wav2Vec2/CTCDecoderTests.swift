import Testing

@testable import TranscribeKit
import TestSupport

@Suite struct CTCGreedyDecoderTests {
    // 0 <pad> (blank), 1 <s>, 2 </s>, 3 <unk>, 4 |, then letters.
    static let vocabulary = try! Vocabulary(tokens: ["<pad>", "<s>", "</s>", "<unk>", "|", "A", "B", "C"])
    let decoder = CTCGreedyDecoder(vocabulary: vocabulary)

    /// One-hot emissions for a path of ids.
    func emissions(_ path: [Int]) -> Matrix {
        var m = Matrix(zeros: path.count, Self.vocabulary.count)
        for (frame, id) in path.enumerated() { m[frame, id] = 1 }
        return m
    }

    @Test(
        arguments: [
            ([5, 5, 6], "AB"),
            ([5, 0, 5], "AA"),  // a blank separates repeats
            ([5, 5, 0, 0, 5, 4, 4, 6], "AA B"),
            ([4, 5, 4, 0, 4, 6, 4], "A B"),  // delimiters at the ends trimmed, runs collapsed
            ([1, 5, 3, 6, 2], "AB"),  // <s>, <unk>, </s> dropped
            ([0, 0, 0], ""),
            ([], ""),
        ] as [([Int], String)])
    func decodes(_ path: [Int], _ text: String) {
        #expect(decoder.decode(emissions(path)) == text)
    }

    @Test func keepsFrameSpansOfTokens() {
        let tokens = decoder.tokens([0, 5, 5, 0, 6, 4, 7, 7, 7])
        #expect(tokens.map(\.id) == [5, 6, 4, 7])
        #expect(tokens.map(\.frames) == [1..<3, 4..<5, 5..<6, 6..<9])
    }

    @Test func takesTheFirstOfTiedMaxima() {
        var m = Matrix(zeros: 1, Self.vocabulary.count)
        m[0, 5] = 2
        m[0, 6] = 2
        #expect(decoder.bestPath(m) == [5])
    }
}
