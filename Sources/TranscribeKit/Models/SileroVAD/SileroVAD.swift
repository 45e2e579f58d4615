import Foundation

/// Silero VAD v6: the probability that each 512-sample chunk of 16 kHz audio is speech.
///
/// Per chunk, 64 samples of the previous chunk (zeros before the first) and the chunk itself,
/// reflection-padded by 64 samples on the right, give four STFT frames (a 256-tap windowed
/// basis, hop 128) whose magnitudes go through four convolutions (ReLU after each; the middle two
/// halve the frames, down to one), an LSTM cell whose state runs from chunk to chunk, a ReLU, a
/// 1x1 convolution and a sigmoid.
/// https://github.com/snakers4/silero-vad (MIT), as faster-whisper runs it (`faster_whisper/vad.py`).
public final class SileroVAD: Sendable {
    public let directory: ModelDirectory
    public let config: SileroVADConfig
    /// `(2 * bins, filter_length)`: the real rows, then the imaginary rows.
    let stftBasis: Tensor
    let encoder: [Conv1d]
    /// LSTM cell, PyTorch's gate order (input, forget, cell, output): `(4 hidden, hidden)` each.
    let weightIH: Tensor
    let weightHH: Tensor
    /// `bias_ih + bias_hh`, `(4 hidden,)`.
    let gateBias: [Float]
    /// The 1x1 convolution to one logit: `(hidden,)` and its bias.
    let outputWeight: Tensor
    let outputBias: Float

    /// Loads config.json and model.safetensors (as scripts/convert-silero-vad.py writes them).
    public init(directory: ModelDirectory) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else { throw ModelError.missingFile(path: directory.path) }
        for name in ["config.json", "model.safetensors"] where !directory.exists(name) {
            throw ModelError.missingFile(path: directory.file(name))
        }
        let config = try SileroVADConfig(contentsOf: directory.file("config.json"))
        self.config = config
        let weights = WeightStore(file: try SafeTensorsFile(path: directory.file("model.safetensors")))
        let bins = config.filterLength / 2 + 1
        stftBasis = try weights(
            "encoder.feature_extractor.forward_basis_buffer", shape: [2 * bins, config.filterLength])
        var channels = bins
        var encoder: [Conv1d] = []
        for (index, (out, stride)) in zip(SileroVADConfig.convChannels, config.convStrides).enumerated() {
            let prefix = "encoder.conv_layers.\(index)"
            encoder.append(
                Conv1d(
                    weight: try weights("\(prefix).weight", shape: [out, channels, 3]),
                    bias: try weights("\(prefix).bias", shape: [out]), stride: stride, padding: 1))
            channels = out
        }
        self.encoder = encoder
        let hidden = config.hiddenSize
        guard channels == hidden else {
            throw ModelError.invalidConfig(
                path: directory.file("config.json"), field: "hidden_size",
                reason: "\(hidden), but the encoder ends with \(channels) channels")
        }
        weightIH = try weights("decoder.rnn.weight_ih", shape: [4 * hidden, hidden])
        weightHH = try weights("decoder.rnn.weight_hh", shape: [4 * hidden, hidden])
        let biasIH = try weights("decoder.rnn.bias_ih", shape: [4 * hidden])
        let biasHH = try weights("decoder.rnn.bias_hh", shape: [4 * hidden])
        gateBias = (0..<(4 * hidden)).map { biasIH.pointer[$0] + biasHH.pointer[$0] }
        outputWeight = try weights("decoder.conv1d.weight", shape: [1, hidden, 1])
        outputBias = try weights("decoder.conv1d.bias", shape: [1]).pointer[0]
        try weights.checkAllUsed(ignoring: [])
    }

    /// The LSTM state and the last samples of the previous chunk: what carries from one chunk to
    /// the next.
    public struct State: Sendable {
        var hidden: [Float]
        var cell: [Float]
        var context: [Float]
    }

    public func initialState() -> State {
        State(
            hidden: Array(repeating: 0, count: config.hiddenSize), cell: Array(repeating: 0, count: config.hiddenSize),
            context: Array(repeating: 0, count: config.contextSizeSamples))
    }

    /// The speech probability of each whole chunk of `samples` (a multiple of the chunk size),
    /// continuing from `state` and leaving it after the last chunk. On the calling thread alone:
    /// the products are small (the detector reads an hour in a few seconds on one core), and
    /// handing each to a second thread costs more than it saves when the other core is busy.
    public func probabilities(_ samples: ArraySlice<Float>, state: inout State) -> [Float] {
        let chunk = config.windowSizeSamples
        precondition(samples.count % chunk == 0, "SileroVAD: whole chunks only")
        guard samples.count >= chunk else { return [] }
        return Parallel.alone {
            let features = encode(samples, context: state.context)
            state.context = Array(samples.suffix(config.contextSizeSamples))
            return decode(features, state: &state)
        }
    }

    /// `(chunks, hidden)`: each chunk through the STFT magnitude and the convolutions.
    private func encode(_ samples: ArraySlice<Float>, context: [Float]) -> Matrix {
        let chunk = config.windowSizeSamples
        let (width, hop, pad) = (config.filterLength, config.hopLength, config.reflectionPadding)
        let contextCount = config.contextSizeSamples
        let padded = contextCount + chunk + pad
        let frames = (padded - width) / hop + 1
        let chunks = samples.count / chunk
        // (chunks * frames, width): every frame of every chunk, gathered.
        var windows = Matrix(zeros: chunks * frames, width)
        var input = [Float](repeating: 0, count: padded)
        let first = samples.startIndex
        for index in 0..<chunks {
            let start = first + index * chunk
            if index == 0 {
                input.replaceSubrange(0..<contextCount, with: context)
            } else {
                input.replaceSubrange(0..<contextCount, with: samples[(start - contextCount)..<start])
            }
            input.replaceSubrange(contextCount..<(contextCount + chunk), with: samples[start..<(start + chunk)])
            // Reflection: input[n + k] = input[n - 2 - k], the last sample not repeated.
            let n = contextCount + chunk
            for k in 0..<pad { input[n + k] = input[n - 2 - k] }
            for frame in 0..<frames {
                windows.data.replaceSubrange(
                    ((index * frames + frame) * width)..<((index * frames + frame + 1) * width),
                    with: input[(frame * hop)..<(frame * hop + width)])
            }
        }
        let spectrum = linear(windows, weight: stftBasis, bias: nil)
        let bins = stftBasis.shape[0] / 2
        var x = Matrix(zeros: spectrum.rows, bins)
        for row in 0..<spectrum.rows {
            for bin in 0..<bins {
                let (re, im) = (spectrum[row, bin], spectrum[row, bin + bins])
                x[row, bin] = (re * re + im * im).squareRoot()
            }
        }
        // Each chunk is its own sequence of `frames` frames: convolve chunk by chunk's rows.
        var length = frames
        for conv in encoder {
            let outLength = conv.outputLength(length)
            var y = Matrix(zeros: chunks * outLength, conv.outChannels)
            for index in 0..<chunks {
                let piece = Matrix(
                    rows: length, cols: x.cols,
                    data: Array(x.data[(index * length * x.cols)..<((index + 1) * length * x.cols)]))
                let out = conv(piece)
                y.data.replaceSubrange(
                    (index * outLength * y.cols)..<((index + 1) * outLength * y.cols), with: out.data)
            }
            for i in y.data.indices where y.data[i] < 0 { y.data[i] = 0 }
            (x, length) = (y, outLength)
        }
        precondition(length == 1, "SileroVAD: the encoder must end with one frame per chunk")
        return x
    }

    /// The LSTM over the chunks in order, then the output layer: one probability per chunk.
    private func decode(_ features: Matrix, state: inout State) -> [Float] {
        let hidden = config.hiddenSize
        // The input half of every gate, for all chunks at once: (chunks, 4 hidden).
        let gates = linear(features, weight: weightIH, bias: nil)
        var probabilities = [Float](repeating: 0, count: features.rows)
        var recurrent = [Float](repeating: 0, count: 4 * hidden)
        for step in 0..<features.rows {
            state.hidden.withUnsafeBufferPointer { h in
                recurrent.withUnsafeMutableBufferPointer { r in
                    // (1, hidden) @ (4 hidden, hidden)^T
                    BLAS.gemm(
                        m: 1, n: 4 * hidden, k: hidden, a: h.baseAddress!, lda: hidden,
                        b: weightHH.pointer, ldb: hidden, transposeB: true, c: r.baseAddress!, ldc: 4 * hidden)
                }
            }
            var logit = outputBias
            for unit in 0..<hidden {
                func gate(_ index: Int) -> Float {
                    let at = index * hidden + unit
                    return gates[step, at] + recurrent[at] + gateBias[at]
                }
                let input = sigmoid(gate(0)), forget = sigmoid(gate(1))
                let candidate = tanhf(gate(2)), output = sigmoid(gate(3))
                let cell = forget * state.cell[unit] + input * candidate
                state.cell[unit] = cell
                let h = output * tanhf(cell)
                state.hidden[unit] = h
                logit += outputWeight.pointer[unit] * max(h, 0)
            }
            probabilities[step] = sigmoid(logit)
        }
        return probabilities
    }
}

private func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// config.json of a converted Silero VAD (scripts/convert-silero-vad.py).
public struct SileroVADConfig: Sendable, Decodable {
    public let modelType: String
    public let samplingRate: Int
    /// Samples per chunk, each given one probability.
    public let windowSizeSamples: Int
    /// Samples of the previous chunk put before each chunk.
    public let contextSizeSamples: Int
    public let filterLength: Int
    public let hopLength: Int
    public let reflectionPadding: Int
    public let convStrides: [Int]
    public let hiddenSize: Int

    /// Output channels of the four encoder convolutions (Silero VAD v5 and v6, 16 kHz).
    static let convChannels = [128, 64, 64, 128]

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case samplingRate = "sampling_rate"
        case windowSizeSamples = "window_size_samples"
        case contextSizeSamples = "context_size_samples"
        case filterLength = "filter_length"
        case hopLength = "hop_length"
        case reflectionPadding = "reflection_padding"
        case convStrides = "conv_strides"
        case hiddenSize = "hidden_size"
    }

    init(contentsOf path: String) throws {
        self = try decodeJSONFile(SileroVADConfig.self, path: path)
        func invalid(_ field: String, _ reason: String) -> ModelError {
            .invalidConfig(path: path, field: field, reason: reason)
        }
        guard modelType == "silero_vad" else {
            throw ModelError.unsupportedConfig(
                path: path, field: "model_type", reason: "\"\(modelType)\"; a voice activity detector is silero_vad")
        }
        guard samplingRate == 16000 else { throw invalid("sampling_rate", "\(samplingRate); Silero VAD runs at 16000") }
        guard convStrides.count == Self.convChannels.count else {
            throw invalid("conv_strides", "\(convStrides.count) strides for \(Self.convChannels.count) convolutions")
        }
        let padded = contextSizeSamples + windowSizeSamples + reflectionPadding
        guard windowSizeSamples > 0, contextSizeSamples >= 0, contextSizeSamples <= windowSizeSamples,
            reflectionPadding >= 0, reflectionPadding < contextSizeSamples + windowSizeSamples,
            hopLength > 0, filterLength > 0, padded >= filterLength
        else { throw invalid("window_size_samples", "the chunk, context, padding and STFT sizes do not fit together") }
    }
}
