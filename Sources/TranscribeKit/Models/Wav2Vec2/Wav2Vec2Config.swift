import Foundation

/// The hyperparameters of a Wav2Vec2 or HuBERT checkpoint (`Wav2Vec2ForCTC`,
/// `Wav2Vec2ForSequenceClassification`, `HubertForSequenceClassification`), from its config.json,
/// with the defaults of transformers' `Wav2Vec2Config` and `HubertConfig` where a field is absent.
/// HuBERT is wav2vec 2.0's network trained another way; in inference it differs only in an
/// optional norm before the feature projection.
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/wav2vec2/configuration_wav2vec2.py
/// https://github.com/huggingface/transformers/blob/main/src/transformers/models/hubert/configuration_hubert.py
public struct Wav2Vec2Config: Sendable, Equatable {
    public enum FeatureExtractorNorm: String, Sendable { case group, layer }
    public enum ModelType: String, Sendable { case wav2vec2, hubert }

    public var modelType = ModelType.wav2vec2

    public var vocabSize = 32
    public var hiddenSize = 768
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var intermediateSize = 3072
    public var hiddenAct = Activation.gelu
    public var layerNormEps: Float = 1e-5
    public var featExtractNorm = FeatureExtractorNorm.group
    public var featExtractActivation = Activation.gelu
    public var convDim = [512, 512, 512, 512, 512, 512, 512]
    public var convStride = [5, 2, 2, 2, 2, 2, 2]
    public var convKernel = [10, 3, 3, 3, 3, 2, 2]
    public var convBias = false
    public var numConvPosEmbeddings = 128
    public var numConvPosEmbeddingGroups = 16
    public var doStableLayerNorm = false
    /// `feat_proj_layer_norm` (HuBERT): a LayerNorm before the feature projection; wav2vec2 always has one.
    public var featProjLayerNorm = true
    /// Sequence classification: the weighted sum of every layer's hidden states (softmax of
    /// `layer_weights`) instead of the last one, and the projector's width before the classifier.
    public var useWeightedLayerSum = false
    public var classifierProjSize = 256

    public init() {}

    /// The checkpoint's key prefix of the shared network: `wav2vec2` or `hubert`.
    public var weightPrefix: String { modelType.rawValue }

    /// Limits on the convolution stack a config.json may describe: samples a frame (the product
    /// of the strides), and samples the first frame needs (2^20: 65 s at 16 kHz).
    static let maximumSamplesPerFrame = 1 << 16
    static let maximumReceptiveField = 1 << 20

    /// Samples per output frame, the product of the convolution strides (320 for base: 20 ms at 16 kHz).
    public var samplesPerFrame: Int { convStride.reduce(1, *) }

    /// Samples the feature encoder needs for its first frame (400 for base: 25 ms at 16 kHz).
    public var receptiveField: Int {
        zip(convKernel, convStride).reversed().reduce(1) { field, layer in (field - 1) * layer.1 + layer.0 }
    }

    /// Bytes of the first convolution's output `(frames, conv_dim[0])` for `samples` samples: the
    /// largest activation of a window.
    public func firstConvolutionBytes(samples: Int) -> Int {
        convDim[0] * (samples / convStride[0] + 1) * MemoryLayout<Float>.size
    }

    /// Frames the feature encoder produces for `samples` input samples.
    public func frameCount(samples: Int) -> Int {
        var length = samples
        for (kernel, stride) in zip(convKernel, convStride) {
            guard length >= kernel else { return 0 }
            length = (length - kernel) / stride + 1
        }
        return length
    }
}

extension Wav2Vec2Config {
    private struct Raw: Decodable {
        var model_type: String?
        var vocab_size: Int?
        var hidden_size: Int?
        var num_hidden_layers: Int?
        var num_attention_heads: Int?
        var intermediate_size: Int?
        var hidden_act: String?
        var layer_norm_eps: Double?
        var feat_extract_norm: String?
        var feat_extract_activation: String?
        var conv_dim: [Int]?
        var conv_stride: [Int]?
        var conv_kernel: [Int]?
        var conv_bias: Bool?
        var num_conv_pos_embeddings: Int?
        var num_conv_pos_embedding_groups: Int?
        var do_stable_layer_norm: Bool?
        var add_adapter: Bool?
        var output_hidden_size: Int?
        var feat_proj_layer_norm: Bool?
        var conv_pos_batch_norm: Bool?
        var use_weighted_layer_sum: Bool?
        var classifier_proj_size: Int?
    }

    /// Reads and validates config.json; an error names the field.
    public init(contentsOf path: String) throws {
        try self.init(json: readModelFile(path), path: path)
    }

    /// Validates the config.json text `json`, read from `path` (named in errors).
    init(json: Data, path: String) throws {
        let raw = try decodeJSON(Raw.self, from: json, path: path)
        let fields = ConfigFields(path: path)

        self.init()
        if let name = raw.model_type {
            guard let modelType = ModelType(rawValue: name) else {
                throw fields.unsupported("model_type", "\"\(name)\"; expected \"wav2vec2\" or \"hubert\"")
            }
            self.modelType = modelType
        }
        if raw.conv_pos_batch_norm == true {
            throw fields.unsupported(
                "conv_pos_batch_norm", "the batch-normed positional convolution is not implemented")
        }
        featProjLayerNorm = modelType == .wav2vec2 || (raw.feat_proj_layer_norm ?? true)
        useWeightedLayerSum = raw.use_weighted_layer_sum ?? false
        classifierProjSize = try fields.positive(
            raw.classifier_proj_size, "classifier_proj_size", default: classifierProjSize)
        if raw.add_adapter == true { throw fields.unsupported("add_adapter", "the adapter layers are not implemented") }
        vocabSize = try fields.positive(raw.vocab_size, "vocab_size", default: vocabSize)
        hiddenSize = try fields.positive(raw.hidden_size, "hidden_size", default: hiddenSize)
        numHiddenLayers = try fields.positive(raw.num_hidden_layers, "num_hidden_layers", default: numHiddenLayers)
        numAttentionHeads = try fields.positive(
            raw.num_attention_heads, "num_attention_heads", default: numAttentionHeads)
        intermediateSize = try fields.positive(raw.intermediate_size, "intermediate_size", default: intermediateSize)
        hiddenAct = try fields.activation(raw.hidden_act, "hidden_act", default: hiddenAct)
        featExtractActivation = try fields.activation(
            raw.feat_extract_activation, "feat_extract_activation", default: featExtractActivation)
        layerNormEps = try fields.epsilon(raw.layer_norm_eps, "layer_norm_eps", default: layerNormEps)
        if let norm = raw.feat_extract_norm {
            guard let value = FeatureExtractorNorm(rawValue: norm) else {
                throw fields.unsupported("feat_extract_norm", "\"\(norm)\"; expected \"group\" or \"layer\"")
            }
            featExtractNorm = value
        }
        convDim = raw.conv_dim ?? convDim
        convStride = raw.conv_stride ?? convStride
        convKernel = raw.conv_kernel ?? convKernel
        for (field, values) in [("conv_dim", convDim), ("conv_stride", convStride), ("conv_kernel", convKernel)] {
            guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else {
                throw fields.invalid(field, "must be a non-empty list of positive integers")
            }
        }
        guard convStride.count == convDim.count, convKernel.count == convDim.count else {
            throw fields.invalid(
                "conv_dim",
                "conv_dim, conv_stride and conv_kernel must have the same length "
                    + "(\(convDim.count), \(convStride.count), \(convKernel.count))")
        }
        // Bounds that keep the frame arithmetic exact and the windows sensible: real checkpoints
        // have 320 samples a frame and a receptive field of 400.
        var stride = 1
        for value in convStride {
            let (product, overflow) = stride.multipliedReportingOverflow(by: value)
            guard !overflow, product <= Self.maximumSamplesPerFrame else {
                throw fields.invalid(
                    "conv_stride", "the strides multiply to more than \(Self.maximumSamplesPerFrame) samples a frame")
            }
            stride = product
        }
        var field = 1
        for (kernel, layerStride) in zip(convKernel, convStride).reversed() {
            let (product, overflow) = (field - 1).multipliedReportingOverflow(by: layerStride)
            guard !overflow, product <= Self.maximumReceptiveField - kernel else {
                throw fields.invalid(
                    "conv_kernel", "the receptive field is more than \(Self.maximumReceptiveField) samples")
            }
            field = product + kernel
        }
        convBias = raw.conv_bias ?? convBias
        numConvPosEmbeddings = try fields.positive(
            raw.num_conv_pos_embeddings, "num_conv_pos_embeddings", default: numConvPosEmbeddings)
        numConvPosEmbeddingGroups = try fields.positive(
            raw.num_conv_pos_embedding_groups, "num_conv_pos_embedding_groups", default: numConvPosEmbeddingGroups)
        doStableLayerNorm = raw.do_stable_layer_norm ?? doStableLayerNorm

        guard hiddenSize % numAttentionHeads == 0 else {
            throw fields.invalid(
                "num_attention_heads", "hidden_size \(hiddenSize) is not divisible by \(numAttentionHeads) heads")
        }
        guard hiddenSize % numConvPosEmbeddingGroups == 0 else {
            throw fields.invalid(
                "num_conv_pos_embedding_groups",
                "hidden_size \(hiddenSize) is not divisible by \(numConvPosEmbeddingGroups) groups")
        }
        if let outputHiddenSize = raw.output_hidden_size, outputHiddenSize != hiddenSize {
            throw fields.unsupported(
                "output_hidden_size", "\(outputHiddenSize) differs from hidden_size \(hiddenSize) (adapter models)")
        }
    }
}
