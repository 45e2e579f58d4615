import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

/// The BLAS-backed kernels against naive loops written from their definitions.
@Suite struct MathTests {
    /// A deterministic pseudo-random sequence in [-1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
    }

    /// `nn.Conv1d` by its definition, on a time-major `(frames, in)` input.
    static func naiveConv(
        _ x: Matrix, weight: [Float], out: Int, kernel: Int, stride: Int, padding: Int, groups: Int, bias: [Float]?
    ) -> Matrix {
        let groupIn = x.cols / groups, groupOut = out / groups
        let frames = (x.rows + 2 * padding - kernel) / stride + 1
        var y = Matrix(zeros: frames, out)
        for t in 0..<frames {
            for o in 0..<out {
                let g = o / groupOut
                var sum = bias?[o] ?? 0
                for i in 0..<groupIn {
                    for k in 0..<kernel {
                        let source = t * stride + k - padding
                        guard source >= 0 && source < x.rows else { continue }
                        sum += weight[(o * groupIn + i) * kernel + k] * x[source, g * groupIn + i]
                    }
                }
                y[t, o] = sum
            }
        }
        return y
    }

    /// Each path of `Conv1d`, with and without a bias (the output starts uninitialised, so a
    /// value the kernel failed to write would show), the same bits for 1 to 3 threads.
    @Test(arguments: [
        (1, 8, 10, 5, 0, 1),  // the first feature-encoder layer: samples in
        (6, 6, 3, 2, 0, 1),
        (8, 8, 4, 1, 2, 4),  // positional: grouped, padded, even kernel
        (6, 6, 5, 1, 2, 3),
        (5, 7, 3, 2, 1, 1),  // Whisper's second convolution: padded, not grouped
        (3, 5, 2, 3, 0, 1),  // stride beyond the kernel
        (64, 48, 3, 2, 0, 1),  // big enough to be cut into pieces for two threads
    ])
    func convolutionMatchesItsDefinition(
        _ inChannels: Int, _ outChannels: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ groups: Int
    ) {
        let frames = 2 * Conv1d.frameBlock + 37  // crosses block boundaries
        let x = Matrix(rows: frames, cols: inChannels, data: Self.values(frames * inChannels, seed: 1))
        let weight = Self.values(outChannels * inChannels / groups * kernel, seed: 2)
        for bias in [Self.values(outChannels, seed: 3), nil] {
            let conv = Conv1d(
                weight: Tensor(shape: [outChannels, inChannels / groups, kernel], storage: FloatBuffer(weight)),
                bias: bias.map { Tensor(shape: [outChannels], storage: FloatBuffer($0)) }, stride: stride,
                padding: padding, groups: groups)
            let saved = Parallel.threads
            defer { BLAS.setThreads(saved) }
            let outputs = [1, 2, 3].map { threads in
                BLAS.setThreads(threads)
                return conv(x)
            }
            let naive = Self.naiveConv(
                x, weight: weight, out: outChannels, kernel: kernel, stride: stride, padding: padding, groups: groups,
                bias: bias)
            #expect(outputs[0].rows == naive.rows && outputs[0].cols == naive.cols)
            let difference = zip(outputs[0].data, naive.data).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference < 1e-4, "bias: \(bias != nil)")
            for output in outputs.dropFirst() {
                #expect(output.data.map(\.bitPattern) == outputs[0].data.map(\.bitPattern), "bias: \(bias != nil)")
            }
        }
    }

    /// The fused first layer against its three steps: the convolution, the per-channel map (a
    /// GroupNorm with known statistics), the activation.
    @Test(arguments: Activation.allCases)
    func singleChannelConvolutionMatchesItsSteps(_ activation: Activation) {
        let (outChannels, kernel, stride) = (13, 10, 5)  // a block of 8 channels and a tail of 5
        let samples = Self.values(stride * 700 + 5, seed: 21)  // 700 frames: split over threads
        let conv = Conv1d(
            weight: Tensor(
                shape: [outChannels, 1, kernel], storage: FloatBuffer(Self.values(outChannels * kernel, seed: 22))),
            bias: Tensor(shape: [outChannels], storage: FloatBuffer(Self.values(outChannels, seed: 23))), stride: stride
        )
        let scale = Self.values(outChannels, seed: 24).map { $0 + 1.5 }
        let shift = Self.values(outChannels, seed: 25)
        var expected = conv(Matrix(rows: samples.count, cols: 1, data: samples))
        for t in 0..<expected.rows {
            for c in 0..<outChannels { expected[t, c] = expected[t, c] * scale[c] + shift[c] }
        }
        activation.apply(&expected)
        let fused = samples.withUnsafeBufferPointer {
            conv.singleChannel($0, scale: scale, shift: shift, activation: activation)
        }
        #expect(fused.rows == 700 && fused.cols == outChannels && expected.rows == 700)
        let difference = zip(fused.data, expected.data).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
        #expect(difference < 1e-5)
    }

    @Test func convolutionOfTooFewFramesIsEmpty() {
        let conv = Conv1d(
            weight: Tensor(shape: [2, 1, 10], storage: FloatBuffer(Self.values(20, seed: 4))), bias: nil, stride: 5)
        #expect(conv(Matrix(zeros: 9, 1)).rows == 0)
    }

    /// Attention by its definition: for each head, softmax(q k^T / sqrt(d)) v, with query i seeing
    /// keys up to `causalOffset + i` when causal.
    static func naiveAttention(q: Matrix, k: Matrix, v: Matrix, heads: Int, causalOffset: Int?) -> Matrix {
        let headDim = q.cols / heads
        var context = Matrix(zeros: q.rows, q.cols)
        for head in 0..<heads {
            let columns = (head * headDim)..<((head + 1) * headDim)
            for i in 0..<q.rows {
                let visible = causalOffset.map { min(k.rows, $0 + i + 1) } ?? k.rows
                let scores = (0..<visible).map { j in
                    columns.reduce(Float(0)) { $0 + q[i, $1] * k[j, $1] } / Float(headDim).squareRoot()
                }
                let largest = scores.max() ?? 0
                let weights = scores.map { Foundation.exp($0 - largest) }
                let total = weights.reduce(0, +)
                for c in columns {
                    context[i, c] = (0..<visible).reduce(Float(0)) { $0 + weights[$1] / total * v[$1, c] }
                }
            }
        }
        return context
    }

    /// More queries than one block of 64, heads of 8, with and without a causal mask.
    @Test(arguments: [(150, 130, nil), (150, 155, 5), (1, 40, 39), (3, 3, nil)] as [(Int, Int, Int?)])
    func attentionMatchesItsDefinition(_ queries: Int, _ keys: Int, _ causalOffset: Int?) {
        let (heads, width) = (3, 24)
        let q = Matrix(rows: queries, cols: width, data: Self.values(queries * width, seed: 11))
        let k = Matrix(rows: keys, cols: width, data: Self.values(keys * width, seed: 12))
        let v = Matrix(rows: keys, cols: width, data: Self.values(keys * width, seed: 13))
        let fast = multiHeadAttention(q: q, k: k, v: v, heads: heads, causalOffset: causalOffset)
        let naive = Self.naiveAttention(q: q, k: k, v: v, heads: heads, causalOffset: causalOffset)
        let difference = zip(fast.data, naive.data).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference < 1e-5)
    }

    /// A decoder step's few queries over many keys (Whisper's 1500 encoder frames): split over the
    /// threads by heads for the keys and values it reads, close to the definition and the same bits
    /// for any thread count.
    @Test(arguments: [1, 5])
    func fewQueriesOverManyKeysAreTheSameForAnyThreadCount(queries: Int) {
        let (heads, width, keys) = (4, 256, 1500)
        let q = Matrix(rows: queries, cols: width, data: Self.values(queries * width, seed: 21))
        let k = Matrix(rows: keys, cols: width, data: Self.values(keys * width, seed: 22))
        let v = Matrix(rows: keys, cols: width, data: Self.values(keys * width, seed: 23))
        let saved = Parallel.threads
        defer { BLAS.setThreads(saved) }
        let outputs = [1, 2, 3].map { threads in
            BLAS.setThreads(threads)
            return multiHeadAttention(q: q, k: k, v: v, heads: heads)
        }
        let naive = Self.naiveAttention(q: q, k: k, v: v, heads: heads, causalOffset: nil)
        let difference = zip(outputs[0].data, naive.data).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference < 1e-5)
        for output in outputs.dropFirst() {
            #expect(zip(output.data, outputs[0].data).allSatisfy { $0.bitPattern == $1.bitPattern })
        }
    }

    @Test func linearMatchesItsDefinition() {
        let x = Matrix(rows: 5, cols: 7, data: Self.values(35, seed: 5))
        let weight = Self.values(21, seed: 6), bias = Self.values(3, seed: 7)
        let y = linear(
            x, weight: Tensor(shape: [3, 7], storage: FloatBuffer(weight)),
            bias: Tensor(shape: [3], storage: FloatBuffer(bias)))
        for r in 0..<5 {
            for o in 0..<3 {
                let expected = bias[o] + (0..<7).reduce(Float(0)) { $0 + x[r, $1] * weight[o * 7 + $1] }
                #expect(abs(y[r, o] - expected) < 1e-5)
            }
        }
    }

    /// More rows than the narrow product takes: the product cut into pieces across the rows
    /// (300 x 200) or across the columns (40 x 600), each piece writing its part of the bias into
    /// an uninitialised output; the definition within rounding, the same bits for 1 to 3 threads.
    @Test(arguments: [(300, 200, true), (300, 200, false), (40, 600, true), (40, 600, false)])
    func linearOfManyRowsMatchesItsDefinitionForAnyThreadCount(rows: Int, outFeatures: Int, withBias: Bool) {
        let inFeatures = 70
        let x = Matrix(rows: rows, cols: inFeatures, data: Self.values(rows * inFeatures, seed: 41))
        let weight = Self.values(outFeatures * inFeatures, seed: 42), bias = Self.values(outFeatures, seed: 43)
        let saved = Parallel.threads
        defer { BLAS.setThreads(saved) }
        let outputs = [1, 2, 3].map { threads in
            BLAS.setThreads(threads)
            return linear(
                x, weight: Tensor(shape: [outFeatures, inFeatures], storage: FloatBuffer(weight)),
                bias: withBias ? Tensor(shape: [outFeatures], storage: FloatBuffer(bias)) : nil)
        }
        var worst: Float = 0
        for r in 0..<rows {
            for o in 0..<outFeatures {
                let sum = (0..<inFeatures).reduce(withBias ? bias[o] : 0) {
                    $0 + x[r, $1] * weight[o * inFeatures + $1]
                }
                worst = max(worst, abs(outputs[0][r, o] - sum))
            }
        }
        #expect(worst < 1e-4)
        for output in outputs.dropFirst() {
            #expect(output.data.map(\.bitPattern) == outputs[0].data.map(\.bitPattern))
        }
    }

    /// An empty sum (k = 0) leaves the beta term alone: zeros with beta 0 whatever `c` held (an
    /// uninitialised output may hold NaN), and beta times `c` otherwise.
    @Test func anEmptyProductIsItsBetaTerm() {
        let a: [Float] = [], b: [Float] = []
        var c = [Float](repeating: .nan, count: 6)
        BLAS.gemm(m: 2, n: 3, k: 0, a: a, lda: 0, b: b, ldb: 0, transposeB: true, c: &c, ldc: 3, beta: 0)
        #expect(c == [0, 0, 0, 0, 0, 0])
        c = [1, 2, 3, 4, 5, 6]
        BLAS.gemm(m: 2, n: 3, k: 0, a: a, lda: 0, b: b, ldb: 0, transposeB: true, c: &c, ldc: 3, beta: 2)
        #expect(c == [2, 4, 6, 8, 10, 12])
    }

    /// The narrow product (a decoder step's few rows against a large weight, cut into blocks of
    /// the weight's rows) against the sum written out, with the weight's last block partial, and
    /// the same bits for every thread count (the shapes make nine stretches of blocks).
    @Test(arguments: [1, 2, 5, BLAS.narrowRows])
    func narrowProductMatchesItsDefinitionForAnyThreadCount(rows: Int) {
        let (n, k) = (8 * BLAS.narrowBlock + 37, 1100)
        let a = Self.values(rows * k, seed: 31), b = Self.values(n * k, seed: 32),
            start = Self.values(rows * n, seed: 33)
        func product(threads: Int, beta: Float) -> [Float] {
            var c = start
            c.withUnsafeMutableBufferPointer { c in
                BLAS.narrowProduct(
                    m: rows, n: n, k: k, a: a, b: b, c: c.baseAddress!, beta: beta, threads: threads)
            }
            return c
        }
        let one = product(threads: 1, beta: 1)
        var worst: Double = 0
        for row in 0..<rows {
            for col in 0..<n {
                let sum = (0..<k).reduce(Double(start[row * n + col])) {
                    $0 + Double(a[row * k + $1] * b[col * k + $1])
                }
                worst = max(worst, abs(Double(one[row * n + col]) - sum))
            }
        }
        #expect(worst < 1e-3)
        let zeroBeta = product(threads: 1, beta: 0)
        #expect(abs(zeroBeta[n - 1] - (one[n - 1] - start[n - 1])) < 1e-3)
        for threads in [2, 3, 8] {
            #expect(product(threads: threads, beta: 1).map(\.bitPattern) == one.map(\.bitPattern), "\(threads) threads")
        }
    }

    @Test func normsGiveZeroMeanUnitVariance() {
        let ones = Tensor(shape: [4], storage: FloatBuffer([1, 1, 1, 1]))
        let zeros = Tensor(shape: [4], storage: FloatBuffer([0, 0, 0, 0]))
        var rows = Matrix(rows: 3, cols: 4, data: Self.values(12, seed: 8).map { $0 * 5 + 2 })
        layerNorm(&rows, weight: ones, bias: zeros, eps: 0)
        for r in 0..<3 {
            let row = Array(rows.row(r))
            #expect(abs(row.reduce(0, +) / 4) < 1e-5)
            #expect(abs(row.reduce(0) { $0 + $1 * $1 } / 4 - 1) < 1e-4)
        }
        var columns = Matrix(rows: 50, cols: 4, data: Self.values(200, seed: 9).map { $0 * 3 - 1 })
        channelNorm(&columns, weight: ones, bias: zeros, eps: 0)
        for c in 0..<4 {
            let column = (0..<50).map { columns[$0, c] }
            #expect(abs(column.reduce(0, +) / 50) < 1e-5)
            #expect(abs(column.reduce(0) { $0 + $1 * $1 } / 50 - 1) < 1e-4)
        }
        let normalised = zeroMeanUnitVariance([1, 2, 3, 4])
        #expect(abs(normalised[0] - Float(-1.5 / (1.25 + 1e-7).squareRoot())) < 1e-6)
    }

    @Test(arguments: [
        (Activation.gelu, Float(1), Float(0.8413447)),
        (.gelu, -2, -0.04550026),
        (.geluNew, 1, 0.8411920),
        (.geluPytorchTanh, -2, -0.04540231),
        (.relu, -3, 0),
        (.silu, 2, 1.7615942),
        (.quickGelu, 1, 0.8457957),
    ])
    func activationsMatchReferenceValues(_ activation: Activation, _ x: Float, _ expected: Float) {
        var m = Matrix(rows: 1, cols: 1, data: [x])
        activation.apply(&m)
        #expect(abs(m[0, 0] - expected) < 1e-6)
    }

    @Test func logSoftmaxRowsSumToOne() {
        let p = logSoftmax(Matrix(rows: 2, cols: 3, data: [1, 2, 3, 1000, 0, -1000]))
        for r in 0..<2 { #expect(abs(p.row(r).reduce(0) { $0 + exp($1) } - 1) < 1e-6) }
        #expect(abs(p[0, 2] - (3 - log(exp(1) + exp(2) + exp(3)))) < 1e-6)
    }
}

@Suite struct FastMathTests {
    /// The vectorised exp and erf against libm over the range the model feeds them.
    @Test func expAndErfMatchLibm() {
        var worstExp: Float = 0, worstErf: Float = 0
        for i in 0..<20_000 {
            let x = Float(i - 10_000) / 1_000  // -10 ... 10
            let lanes = Lanes(repeating: x)
            let e = FastMath.exp(lanes)[0]
            worstExp = max(worstExp, abs(e - Foundation.exp(x)) / Foundation.exp(x))
            worstErf = max(worstErf, abs(FastMath.erf(lanes)[0] - Foundation.erf(x)))
        }
        #expect(worstExp < 1e-6)
        #expect(worstErf < 1e-6)
        #expect(FastMath.exp(Lanes(repeating: -.infinity))[0] < 1e-37)
        #expect(FastMath.erf(Lanes(repeating: .infinity))[0] == 1)
        #expect(FastMath.erf(Lanes(repeating: -.infinity))[0] == -1)
    }
}
