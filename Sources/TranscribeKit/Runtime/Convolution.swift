/// A 1-D convolution (`nn.Conv1d`) over a time-major `(frames, inChannels)` input.
///
/// The PyTorch weight `(out, in / groups, kernel)` is reordered once at load to
/// `(out, kernel, in / groups)`, so that the receptive field of one output frame within a group
/// is `kernel` contiguous runs of input channels. Without groups or padding, that field is one
/// contiguous run of the input, so the input itself, read with a row stride of `stride * in`, is
/// the im2col matrix, and no copy is made: one sgemm for each run of `stride` taps. Otherwise
/// output frames are computed in blocks: gather the blocks' receptive fields (im2col) and
/// multiply by the weight with one sgemm per group.
public struct Conv1d: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    public let groups: Int
    /// `(out, kernel, in / groups)`.
    let weight: FloatBuffer
    let bias: Tensor?

    /// Output frames gathered per sgemm: bounds the im2col scratch to `block * kernel * in / groups`.
    static let frameBlock = 256

    public init(weight: Tensor, bias: Tensor?, stride: Int, padding: Int = 0, groups: Int = 1) {
        precondition(weight.shape.count == 3, "Conv1d weight is (out, in / groups, kernel)")
        let (outChannels, groupChannels, kernelSize) = (weight.shape[0], weight.shape[1], weight.shape[2])
        self.inChannels = groupChannels * groups
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.bias = bias
        let source = weight.pointer
        self.weight = FloatBuffer(count: weight.count) { reordered in
            for o in 0..<outChannels {
                for i in 0..<groupChannels {
                    for k in 0..<kernelSize {
                        reordered[(o * kernelSize + k) * groupChannels + i] =
                            source[(o * groupChannels + i) * kernelSize + k]
                    }
                }
            }
        }
    }

    /// Frames out for `frames` in: `floor((frames + 2 padding - kernel) / stride) + 1`, or 0.
    public func outputLength(_ frames: Int) -> Int {
        let padded = frames + 2 * padding
        return padded < kernelSize ? 0 : (padded - kernelSize) / stride + 1
    }

    public func callAsFunction(_ x: Matrix) -> Matrix {
        precondition(x.cols == inChannels, "Conv1d: input has \(x.cols) channels, expected \(inChannels)")
        let frames = outputLength(x.rows)
        guard frames > 0 else { return Matrix(zeros: 0, outChannels) }
        // Every value is written below: by the products' pieces, the bias first where there is one.
        var y = Matrix(uninitializedRows: frames, outChannels)
        let groupIn = inChannels / groups
        let groupOut = outChannels / groups
        let fieldWidth = kernelSize * groupIn
        let block = min(Self.frameBlock, frames)
        let blocks = (frames + block - 1) / block

        y.data.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            x.data.withUnsafeBufferPointer { input in
                let input = input.baseAddress!
                if groups == 1 && padding == 0 && (stride >= kernelSize || stride * inChannels >= 64) {
                    // BLAS wants a row stride at least the row's length, so the taps go in runs of
                    // `stride`: (frames, taps * in), rows `stride * in` apart @ (out, taps * in)^T.
                    // (With runs shorter than 64 values, as in the first layer's 5 samples, the
                    // products would be too thin: one gather and one product is faster.)
                    var tap = 0
                    while tap < kernelSize {
                        let taps = min(stride, kernelSize - tap)
                        BLAS.parallelGemm(
                            m: frames, n: outChannels, k: taps * inChannels,
                            a: input + tap * inChannels, lda: stride * inChannels,
                            b: weight.baseAddress + tap * inChannels, ldb: fieldWidth, transposeB: true,
                            c: out, ldc: outChannels, beta: tap == 0 ? 0 : 1,
                            bias: tap == 0 ? bias?.pointer : nil)
                        tap += taps
                    }
                    return
                }
                // The input group by group, `padding` zero frames at each end: (groups, padded
                // frames, groupIn). The receptive field of output frame t in group g is then one
                // contiguous run of `fieldWidth` values from its frame `t * stride`, one copy.
                let paddedFrames = x.rows + 2 * padding
                let padded = UnsafeMutablePointer<Float>.allocate(capacity: groups * paddedFrames * groupIn)
                defer { padded.deallocate() }
                for g in 0..<groups {
                    let base = padded + g * paddedFrames * groupIn
                    base.initialize(repeating: 0, count: padding * groupIn)
                    for t in 0..<x.rows {
                        (base + (padding + t) * groupIn).initialize(
                            from: input + t * inChannels + g * groupIn, count: groupIn)
                    }
                    (base + (padding + x.rows) * groupIn).initialize(repeating: 0, count: padding * groupIn)
                }
                // One task per (block of output frames, group); each thread gathers into its own buffer.
                Parallel.forEach(blocks * groups, grain: 1) { tasks in
                    let columns = UnsafeMutablePointer<Float>.allocate(capacity: block * fieldWidth)
                    defer { columns.deallocate() }
                    for task in tasks {
                        let (first, g) = ((task / groups) * block, task % groups)
                        let count = min(block, frames - first)
                        // (count, kernel * groupIn): the receptive fields of frames first..<first+count.
                        let source = padded + g * paddedFrames * groupIn
                        for t in 0..<count {
                            (columns + t * fieldWidth).update(
                                from: source + (first + t) * stride * groupIn, count: fieldWidth)
                        }
                        let c = out + first * outChannels + g * groupOut
                        if let bias {
                            for t in 0..<count {
                                (c + t * outChannels).update(from: bias.pointer + g * groupOut, count: groupOut)
                            }
                        }
                        // (count, kernel * groupIn) @ (groupOut, kernel * groupIn)^T
                        BLAS.gemm(
                            m: count, n: groupOut, k: fieldWidth,
                            a: columns, lda: fieldWidth,
                            b: weight.baseAddress + g * groupOut * fieldWidth, ldb: fieldWidth, transposeB: true,
                            c: c, ldc: outChannels, beta: bias == nil ? 0 : 1)
                    }
                }
            }
        }
        return y
    }
}

extension Conv1d {
    /// `act(scale[c] * conv(x)[t, c] + shift[c])` for a convolution of one input channel without
    /// padding (the feature encoder's first layer, samples in), in one pass that writes each
    /// output once: the per-channel affine map (a GroupNorm with known statistics) is folded into
    /// the weights and bias, and 8 channels of a frame are `kernel` fused multiply-adds.
    /// `(samples,)` -> `(frames, out)`; the same values as `conv`, the affine map and
    /// `activation.apply` in turn, up to rounding.
    func singleChannel(_ samples: UnsafeBufferPointer<Float>, scale: [Float], shift: [Float], activation: Activation)
        -> Matrix
    {
        precondition(
            inChannels == 1 && groups == 1 && padding == 0, "singleChannel: one input channel, no groups or padding")
        precondition(
            scale.count == outChannels && shift.count == outChannels,
            "singleChannel: scale and shift per output channel")
        let frames = outputLength(samples.count)
        guard frames > 0, let input = samples.baseAddress else { return Matrix(zeros: 0, outChannels) }
        // The loop below stores every value.
        var y = Matrix(uninitializedRows: frames, outChannels)
        let lanes = Lanes.scalarCount
        let blocks = (outChannels + lanes - 1) / lanes
        // Folded weight (blocks of 8 channels, kernel) and bias (blocks); padding channels are 0.
        var foldedWeight = [Lanes](repeating: .zero, count: blocks * kernelSize)
        var foldedBias = [Lanes](repeating: .zero, count: blocks)
        for c in 0..<outChannels {
            for k in 0..<kernelSize {
                foldedWeight[(c / lanes) * kernelSize + k][c % lanes] =
                    scale[c] * weight.baseAddress[c * kernelSize + k]
            }
            foldedBias[c / lanes][c % lanes] = scale[c] * (bias?.pointer[c] ?? 0) + shift[c]
        }
        foldedWeight.withUnsafeBufferPointer { w in
            foldedBias.withUnsafeBufferPointer { b in
                y.data.withUnsafeMutableBufferPointer { out in
                    let (w, b, out) = (w.baseAddress!, b.baseAddress!, out.baseAddress!)
                    // One loop per activation, as in `Activation.apply`.
                    switch activation {
                    case .gelu: singleChannel(input, w, b, out, frames, Activation.GELU())
                    case .geluNew, .geluPytorchTanh, .geluFast:
                        singleChannel(input, w, b, out, frames, Activation.GELUTanh())
                    case .relu: singleChannel(input, w, b, out, frames, Activation.ReLU())
                    case .quickGelu, .silu, .swish, .tanh, .sigmoid: singleChannel(input, w, b, out, frames, activation)
                    }
                }
            }
        }
        return y
    }

    /// The loop of `singleChannel`, specialised for the activation `f`.
    @inline(__always)
    private func singleChannel<F: LaneFunction>(
        _ input: UnsafePointer<Float>, _ w: UnsafePointer<Lanes>, _ b: UnsafePointer<Lanes>,
        _ out: UnsafeMutablePointer<Float>, _ frames: Int, _ f: F
    ) {
        let lanes = Lanes.scalarCount
        let blocks = (outChannels + lanes - 1) / lanes
        let (kernelSize, stride, outChannels) = (kernelSize, stride, outChannels)
        Parallel.forEach(frames, grain: 256) { range in
            for t in range {
                let window = input + t * stride
                let row = out + t * outChannels
                var taps = w  // this block's `kernel` folded weights, block after block
                for block in 0..<blocks {
                    var sum = b[block]
                    for k in 0..<kernelSize { sum = sum.addingProduct(taps[k], window[k]) }
                    taps += kernelSize
                    let value = f(sum)
                    let channel = block * lanes
                    if channel + lanes <= outChannels {
                        UnsafeMutableRawPointer(row + channel).storeBytes(of: value, as: Lanes.self)
                    } else {
                        for c in channel..<outChannels { row[c] = value[c - channel] }
                    }
                }
            }
        }
    }
}
