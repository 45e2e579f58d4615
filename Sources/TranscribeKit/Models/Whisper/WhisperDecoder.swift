import Foundation

/// Whisper's text decoder: token and learned position embeddings, pre-norm layers with causal
/// self-attention (cached) and cross-attention to the encoder, a final layer norm, and logits
/// from the token embedding (tied) or `proj_out`.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/whisper/modeling_whisper.py (`WhisperDecoder`)
struct WhisperDecoder: Sendable {
    /// `embed_tokens.weight`: `(vocab_size, d_model)`.
    let embedTokens: Tensor
    /// `embed_positions.weight`: `(max_target_positions, d_model)`.
    let embedPositions: Tensor
    let layers: [WhisperDecoderLayer]
    let layerNorm: LayerNorm
    /// `proj_out.weight` where the checkpoint stores it; tied to `embedTokens` otherwise.
    let projOut: Tensor
    /// `sqrt(d_model)` with `scale_embedding`, else 1.
    let embedScale: Float

    init(_ weights: WeightStore, _ prefix: String, projOutKey: String, config: WhisperConfig) throws {
        let d = config.dModel
        embedTokens = try weights("\(prefix).embed_tokens.weight", shape: [config.vocabSize, d])
        embedPositions = try weights("\(prefix).embed_positions.weight", shape: [config.maxTargetPositions, d])
        layers = try (0..<config.decoderLayers).map {
            try WhisperDecoderLayer(weights, "\(prefix).layers.\($0)", config: config)
        }
        layerNorm = try LayerNorm(weights, "\(prefix).layer_norm", size: d, eps: torchNormEps)
        projOut = weights.contains(projOutKey) ? try weights(projOutKey, shape: [config.vocabSize, d]) : embedTokens
        embedScale = config.scaleEmbedding ? Float(d).squareRoot() : 1
    }

    var dModel: Int { embedTokens.shape[1] }
    var maxPositions: Int { embedPositions.shape[0] }

    /// Each layer's cross-attention keys and values for `encoded`, computed once per window.
    func crossStates(_ encoded: Matrix) -> WhisperCrossStates {
        WhisperCrossStates(
            keys: layers.map { $0.encoderAttn.kProj(encoded) },
            values: layers.map { $0.encoderAttn.vProj(encoded) })
    }

    /// Runs `tokens[s]`, the new tokens of sequence `s`, after the ones `caches[s]` holds, and
    /// appends them to it. Returns the final hidden states of all new tokens, sequence after
    /// sequence: `(sum of tokens[s].count, d_model)`. Positions past `maxPositions` are the
    /// caller's to avoid.
    func callAsFunction(_ tokens: [[Int]], caches: inout [WhisperDecoderCache], cross: WhisperCrossStates) -> Matrix {
        self(tokens, caches: &caches, crosses: [cross], crossOf: Array(repeating: 0, count: tokens.count))
    }

    /// The same for sequences of several windows decoded together: sequence `s` attends to
    /// `crosses[crossOf[s]]`, and every product but the attention takes all their rows at once.
    func callAsFunction(
        _ tokens: [[Int]], caches: inout [WhisperDecoderCache], crosses: [WhisperCrossStates], crossOf: [Int]
    ) -> Matrix {
        let d = dModel
        let rows = tokens.reduce(0) { $0 + $1.count }
        var h = Matrix(zeros: rows, d)
        var row = 0
        for (sequence, ids) in tokens.enumerated() {
            for (offset, id) in ids.enumerated() {
                let position = caches[sequence].length + offset
                let token = embedTokens.pointer + id * d
                let place = embedPositions.pointer + position * d
                for c in 0..<d { h[row, c] = token[c] * embedScale + place[c] }
                row += 1
            }
        }
        let counts = tokens.map(\.count)
        for (index, layer) in layers.enumerated() {
            h =
                layer(
                    h, counts: counts, caches: &caches, layer: index,
                    cross: crosses.map { ($0.keys[index], $0.values[index]) },
                    crossOf: crossOf
                ).output
        }
        for sequence in caches.indices { caches[sequence].length += counts[sequence] }
        return layerNorm(h)
    }

    /// Runs `tokens` from the start, as one sequence, and returns the final hidden states
    /// `(tokens, d_model)` with the cross-attention scores (before the softmax) of each of `heads`
    /// (`(layer, head)` pairs): `(tokens, encoder frames)` each, in the order of `heads`.
    func crossAttention(
        _ tokens: [Int], cross: WhisperCrossStates, heads: [(layer: Int, head: Int)]
    ) -> (hidden: Matrix, weights: [Matrix]) {
        let d = dModel
        var h = Matrix(zeros: tokens.count, d)
        for (position, id) in tokens.enumerated() {
            let token = embedTokens.pointer + id * d
            let place = embedPositions.pointer + position * d
            for c in 0..<d { h[position, c] = token[c] * embedScale + place[c] }
        }
        var caches = [WhisperDecoderCache(layers: layers.count)]
        var weights = [Matrix?](repeating: nil, count: heads.count)
        for (index, layer) in layers.enumerated() {
            let wanted = heads.indices.filter { heads[$0].layer == index }
            let step = layer(
                h, counts: [tokens.count], caches: &caches, layer: index,
                cross: [(cross.keys[index], cross.values[index])],
                crossOf: [0], capturing: wanted.map { heads[$0].head })
            h = step.output
            for (slot, probabilities) in zip(wanted, step.crossWeights) { weights[slot] = probabilities }
        }
        return (layerNorm(h), weights.map { $0 ?? Matrix(zeros: tokens.count, cross.keys.first?.rows ?? 0) })
    }

    /// `(rows, d_model)` -> `(rows, vocab_size)` logits.
    func logits(_ hidden: Matrix) -> Matrix { linear(hidden, weight: projOut, bias: nil) }

    /// `log_softmax(logits[:, :vocabulary])[r, targets[r]]` for each row `r` of `hidden`, without
    /// holding the `(rows, vocab_size)` logits (40 MB for a window's 200 tokens): they are made a
    /// block of tokens at a time for all rows, so that each block of `projOut` is read once, and
    /// each block keeps only its `logSumExp` per row. The blocks go over the threads and are
    /// combined in order, so the result does not depend on the threads.
    func logProbabilities(
        _ hidden: Matrix, of targets: [Int], among vocabulary: Int, blockSize: Int = 2048
    ) -> [Double] {
        precondition(targets.count == hidden.rows && targets.allSatisfy { (0..<vocabulary).contains($0) })
        let (rows, d) = (hidden.rows, hidden.cols)
        let blocks = (vocabulary + blockSize - 1) / blockSize
        // Row `r`'s log-sum-exp over block `b` at `[r * blocks + b]`, and its target's logit.
        var partial = [Float](repeating: -.infinity, count: rows * blocks)
        var chosen = [Float](repeating: 0, count: rows)
        hidden.data.withUnsafeBufferPointer { hidden in
            partial.withUnsafeMutableBufferPointer { partial in
                chosen.withUnsafeMutableBufferPointer { chosen in
                    Parallel.forEach(blocks, grain: 1) { range in
                        let logits = UnsafeMutablePointer<Float>.allocate(capacity: rows * blockSize)
                        defer { logits.deallocate() }
                        for block in range {
                            let first = block * blockSize, count = min(blockSize, vocabulary - first)
                            BLAS.gemm(
                                m: rows, n: count, k: d, a: hidden.baseAddress!, lda: d,
                                b: projOut.pointer + first * d, ldb: d, transposeB: true, c: logits, ldc: count)
                            for row in 0..<rows {
                                let values = UnsafeBufferPointer(start: logits + row * count, count: count)
                                partial[row * blocks + block] = logSumExp(values)
                                if (first..<(first + count)).contains(targets[row]) {
                                    chosen[row] = values[targets[row] - first]
                                }
                            }
                        }
                    }
                }
            }
        }
        return (0..<rows).map { row in
            let total = logSumExp(partial[(row * blocks)..<((row + 1) * blocks)])
            return total > -.infinity ? Double(chosen[row]) - Double(total) : -.infinity
        }
    }
}

/// The keys and values one sequence's decoder self-attention has seen: per layer,
/// `(length, d_model)` row-major.
public struct WhisperDecoderCache: Sendable {
    var keys: [[Float]]
    var values: [[Float]]
    /// Tokens run so far.
    public internal(set) var length = 0

    init(layers: Int) {
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
    }
}

/// Each decoder layer's cross-attention keys and values: `(encoder frames, d_model)`.
struct WhisperCrossStates: Sendable {
    let keys: [Matrix]
    let values: [Matrix]
}

/// `WhisperDecoderLayer`: causal self-attention, cross-attention to the encoder and a feed-forward
/// block, each pre-normed with a residual connection.
struct WhisperDecoderLayer: Sendable {
    let selfAttn: MultiHeadAttention
    let selfAttnLayerNorm: LayerNorm
    let encoderAttn: MultiHeadAttention
    let encoderAttnLayerNorm: LayerNorm
    let feedForward: WhisperFeedForward
    let finalLayerNorm: LayerNorm

    init(_ weights: WeightStore, _ prefix: String, config: WhisperConfig) throws {
        let (d, heads) = (config.dModel, config.decoderAttentionHeads)
        selfAttn = try MultiHeadAttention(weights, "\(prefix).self_attn", dModel: d, heads: heads, keyBias: false)
        selfAttnLayerNorm = try LayerNorm(weights, "\(prefix).self_attn_layer_norm", size: d, eps: torchNormEps)
        encoderAttn = try MultiHeadAttention(weights, "\(prefix).encoder_attn", dModel: d, heads: heads, keyBias: false)
        encoderAttnLayerNorm = try LayerNorm(weights, "\(prefix).encoder_attn_layer_norm", size: d, eps: torchNormEps)
        feedForward = try WhisperFeedForward(
            weights, prefix, dModel: d, ffnDim: config.decoderFfnDim, activation: config.activationFunction)
        finalLayerNorm = try LayerNorm(weights, "\(prefix).final_layer_norm", size: d, eps: torchNormEps)
    }

    /// `x` holds `counts[s]` new rows of each sequence `s` in turn: `(sum counts, d_model)`;
    /// sequence `s` attends to the encoder states whose keys and values are `cross[crossOf[s]]`.
    /// With `capturing` (one sequence), also the cross-attention scores of those heads,
    /// `(rows, encoder frames)` each, before the softmax (word timestamps read them).
    func callAsFunction(
        _ x: Matrix, counts: [Int], caches: inout [WhisperDecoderCache], layer: Int,
        cross: [(keys: Matrix, values: Matrix)], crossOf: [Int], capturing heads: [Int] = []
    ) -> (output: Matrix, crossWeights: [Matrix]) {
        var h = x
        h += selfAttention(selfAttnLayerNorm(x), counts: counts, caches: &caches, layer: layer)
        let crossQueries = encoderAttn.qProj(encoderAttnLayerNorm(h))
        let crossWeights = heads.map { crossAttentionScores(crossQueries, cross[crossOf[0]].keys, head: $0) }
        h += encoderAttn.outProj(crossAttention(crossQueries, counts: counts, cross: cross, crossOf: crossOf))
        h += feedForward(finalLayerNorm(h))
        return (h, crossWeights)
    }

    /// Each run of sequences that share encoder states attends to them in one call.
    private func crossAttention(
        _ q: Matrix, counts: [Int], cross: [(keys: Matrix, values: Matrix)], crossOf: [Int]
    ) -> Matrix {
        if Set(crossOf).count == 1 {
            return multiHeadAttention(
                q: q, k: cross[crossOf[0]].keys, v: cross[crossOf[0]].values, heads: encoderAttn.numHeads)
        }
        let d = q.cols
        var context = Matrix(zeros: q.rows, d)
        var first = 0
        var sequence = 0
        while sequence < counts.count {
            var last = sequence
            var rows = counts[sequence]
            while last + 1 < counts.count && crossOf[last + 1] == crossOf[sequence] {
                last += 1
                rows += counts[last]
            }
            let (keys, values) = cross[crossOf[sequence]]
            if rows > 0 {
                q.data.withUnsafeBufferPointer { q in
                    keys.data.withUnsafeBufferPointer { k in
                        values.data.withUnsafeBufferPointer { v in
                            context.data.withUnsafeMutableBufferPointer { context in
                                multiHeadAttention(
                                    q: q.baseAddress! + first * d, k: k.baseAddress!, v: v.baseAddress!,
                                    context: context.baseAddress! + first * d, queries: rows, keys: keys.rows, width: d,
                                    heads: encoderAttn.numHeads)
                            }
                        }
                    }
                }
            }
            first += rows
            sequence = last + 1
        }
        return context
    }

    /// `q_h k_h^T / sqrt(head_dim)` of one head, before the softmax: `(queries, keys)`.
    private func crossAttentionScores(_ q: Matrix, _ k: Matrix, head: Int) -> Matrix {
        let (width, headDim) = (q.cols, q.cols / encoderAttn.numHeads)
        let (queries, keys) = (q.rows, k.rows)
        var scores = Matrix(zeros: queries, keys)
        q.data.withUnsafeBufferPointer { q in
            k.data.withUnsafeBufferPointer { k in
                scores.data.withUnsafeMutableBufferPointer { scores in
                    // (queries, head_dim) @ (keys, head_dim)^T
                    BLAS.gemm(
                        m: queries, n: keys, k: headDim, a: q.baseAddress! + head * headDim, lda: width,
                        b: k.baseAddress! + head * headDim, ldb: width, transposeB: true,
                        c: scores.baseAddress!, ldc: keys, alpha: 1 / Float(headDim).squareRoot())
                }
            }
        }
        return scores
    }

    /// Each sequence's new rows attend to its cached rows and, causally, to each other.
    private func selfAttention(_ x: Matrix, counts: [Int], caches: inout [WhisperDecoderCache], layer: Int) -> Matrix {
        let d = x.cols
        let q = selfAttn.qProj(x), k = selfAttn.kProj(x), v = selfAttn.vProj(x)
        var context = Matrix(zeros: x.rows, d)
        var first = 0
        for (sequence, count) in counts.enumerated() where count > 0 {
            let rows = (first * d)..<((first + count) * d)
            let past = caches[sequence].keys[layer].count / d
            caches[sequence].keys[layer] += k.data[rows]
            caches[sequence].values[layer] += v.data[rows]
            let keys = caches[sequence].keys[layer], values = caches[sequence].values[layer]
            q.data.withUnsafeBufferPointer { q in
                keys.withUnsafeBufferPointer { keys in
                    values.withUnsafeBufferPointer { values in
                        context.data.withUnsafeMutableBufferPointer { context in
                            // (count, d) new queries over (past + count, d) keys
                            multiHeadAttention(
                                q: q.baseAddress! + first * d, k: keys.baseAddress!, v: values.baseAddress!,
                                context: context.baseAddress! + first * d,
                                queries: count, keys: past + count, width: d, heads: selfAttn.numHeads,
                                causalOffset: past)
                        }
                    }
                }
            }
            first += count
        }
        return selfAttn.outProj(context)
    }
}
