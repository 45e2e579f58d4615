import Foundation

/// The hyperparameters of an `ASTForAudioClassification` checkpoint (Audio Spectrogram
/// Transformer, e.g. MIT/ast-finetuned-audioset-10-10-0.4593), from its config.json, with the
/// defaults of transformers' `ASTConfig` where a field is absent.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/audio_spectrogram_transformer/configuration_audio_spectrogram_transformer.py
public struct ASTConfig: Sendable, Equatable {
    public var hiddenSize = 768
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var intermediateSize = 3072
    public var hiddenAct = Activation.gelu
    public var layerNormEps: Float = 1e-12
    public var patchSize = 16
    public var qkvBias = true
    public var frequencyStride = 10
    public var timeStride = 10
    /// Filter-bank frames the model takes (1024: 10.24 s).
    public var maxLength = 1024
    public var numMelBins = 128

    public init() {}

    /// Patches along frequency and along time: the conv's output grid.
    public var frequencyPatches: Int { (numMelBins - patchSize) / frequencyStride + 1 }
    public var timePatches: Int { (maxLength - patchSize) / timeStride + 1 }

    private struct Raw: Decodable {
        var model_type: String?
        var hidden_size: Int?
        var num_hidden_layers: Int?
        var num_attention_heads: Int?
        var intermediate_size: Int?
        var hidden_act: String?
        var layer_norm_eps: Double?
        var patch_size: Int?
        var qkv_bias: Bool?
        var frequency_stride: Int?
        var time_stride: Int?
        var max_length: Int?
        var num_mel_bins: Int?
    }

    /// Reads and validates config.json; an error names the field.
    public init(contentsOf path: String) throws {
        try self.init(json: readModelFile(path), path: path)
    }

    init(json: Data, path: String) throws {
        let raw = try decodeJSON(Raw.self, from: json, path: path)
        let fields = ConfigFields(path: path)
        self.init()
        if let modelType = raw.model_type, modelType != "audio-spectrogram-transformer" {
            throw fields.unsupported("model_type", "\"\(modelType)\"; expected \"audio-spectrogram-transformer\"")
        }
        hiddenSize = try fields.positive(raw.hidden_size, "hidden_size", default: hiddenSize)
        numHiddenLayers = try fields.positive(raw.num_hidden_layers, "num_hidden_layers", default: numHiddenLayers)
        numAttentionHeads = try fields.positive(
            raw.num_attention_heads, "num_attention_heads", default: numAttentionHeads)
        intermediateSize = try fields.positive(raw.intermediate_size, "intermediate_size", default: intermediateSize)
        patchSize = try fields.positive(raw.patch_size, "patch_size", default: patchSize)
        frequencyStride = try fields.positive(raw.frequency_stride, "frequency_stride", default: frequencyStride)
        timeStride = try fields.positive(raw.time_stride, "time_stride", default: timeStride)
        maxLength = try fields.positive(raw.max_length, "max_length", default: maxLength)
        numMelBins = try fields.positive(raw.num_mel_bins, "num_mel_bins", default: numMelBins)
        qkvBias = raw.qkv_bias ?? qkvBias
        hiddenAct = try fields.activation(raw.hidden_act, "hidden_act", default: hiddenAct)
        layerNormEps = try fields.epsilon(raw.layer_norm_eps, "layer_norm_eps", default: layerNormEps)
        guard hiddenSize % numAttentionHeads == 0 else {
            throw fields.invalid(
                "num_attention_heads", "hidden_size \(hiddenSize) is not divisible by \(numAttentionHeads) heads")
        }
        guard patchSize <= numMelBins, patchSize <= maxLength else {
            throw fields.invalid("patch_size", "\(patchSize) is larger than the \(numMelBins) x \(maxLength) input")
        }
        // The real models take 1024 frames of 128 bins; bound the input a config may ask for.
        guard maxLength <= 1 << 16, numMelBins <= 1024 else {
            throw fields.invalid(
                "max_length", "an input of \(maxLength) x \(numMelBins) is beyond what transcribe runs")
        }
    }
}

/// The parts of preprocessor_config.json (`ASTFeatureExtractor`) that shape the input, with
/// transformers' defaults: AudioSet's mean and standard deviation.
public struct ASTFeatureExtractor: Sendable, Equatable {
    public var samplingRate = 16_000
    public var numMelBins = 128
    public var maxLength = 1024
    public var doNormalize = true
    public var mean: Float = -4.2677393
    public var std: Float = 4.5689974

    public init() {}

    private struct Raw: Decodable {
        var sampling_rate: Int?
        var num_mel_bins: Int?
        var max_length: Int?
        var do_normalize: Bool?
        var mean: Double?
        var std: Double?
    }

    public init(contentsOf path: String) throws {
        let raw = try decodeJSON(Raw.self, from: readModelFile(path), path: path)
        self.init()
        samplingRate = raw.sampling_rate ?? samplingRate
        numMelBins = raw.num_mel_bins ?? numMelBins
        maxLength = raw.max_length ?? maxLength
        doNormalize = raw.do_normalize ?? doNormalize
        mean = raw.mean.map(Float.init) ?? mean
        std = raw.std.map(Float.init) ?? std
        guard samplingRate >= 1000, samplingRate <= 1_000_000, samplingRate % 100 == 0 else {
            throw ModelError.invalidConfig(
                path: path, field: "sampling_rate",
                reason: "must be a multiple of 100 Hz from 1 kHz to 1 MHz (whole 10 ms frames), found \(samplingRate)")
        }
        guard std > 0 || !doNormalize else {
            throw ModelError.invalidConfig(path: path, field: "std", reason: "must be positive, found \(std)")
        }
    }

    /// Samples that give exactly `maxLength` frames: the longest clip the model hears whole
    /// (164,080 at 16 kHz for 1024 frames, 10.255 s).
    public var inputSamples: Int {
        let bank = KaldiFilterBank.frameSizes(sampleRate: samplingRate)
        return (maxLength - 1) * bank.shift + bank.length
    }

    /// `(max_length, num_mel_bins)` input values: the filter bank of `samples`, cut or padded
    /// with zero rows to `max_length` frames, then `(x - mean) / (2 std)`, padding included.
    func inputValues(_ samples: [Float], filterBank: KaldiFilterBank) -> Matrix {
        let fbank = filterBank(samples, maximumFrames: maxLength)
        var values = Matrix(zeros: maxLength, numMelBins)
        values.data.replaceSubrange(0..<fbank.data.count, with: fbank.data)
        if doNormalize {
            let scale = std * 2
            for index in values.data.indices { values.data[index] = (values.data[index] - mean) / scale }
        }
        return values
    }
}
