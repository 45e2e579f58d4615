import Foundation

/// The activations transformers' `ACT2FN` offers that Wav2Vec2 checkpoints use, by their config name.
public enum Activation: String, Sendable, CaseIterable {
    case gelu
    case geluNew = "gelu_new"
    case geluPytorchTanh = "gelu_pytorch_tanh"
    case geluFast = "gelu_fast"
    case quickGelu = "quick_gelu"
    case relu
    case silu
    case swish
    case tanh
    case sigmoid

    /// Applies the activation to every value in place.
    public func apply(_ x: inout Matrix) {
        x.data.withUnsafeMutableBufferPointer { values in
            switch self {
            case .gelu:
                // Exact: x * Φ(x) = 0.5 x (1 + erf(x / √2)).
                for i in 0..<values.count {
                    let v = values[i]
                    values[i] = 0.5 * v * (1 + Foundation.erf(v * Float(0.5).squareRoot()))
                }
            case .geluNew, .geluPytorchTanh, .geluFast:
                // Tanh approximation: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).
                let c = Float((2.0 / Double.pi).squareRoot())
                for i in 0..<values.count {
                    let v = values[i]
                    values[i] = 0.5 * v * (1 + Foundation.tanh(c * (v + 0.044715 * v * v * v)))
                }
            case .quickGelu:
                for i in 0..<values.count {
                    let v = values[i]
                    values[i] = v / (1 + Foundation.exp(-1.702 * v))
                }
            case .relu:
                for i in 0..<values.count { values[i] = max(values[i], 0) }
            case .silu, .swish:
                for i in 0..<values.count {
                    let v = values[i]
                    values[i] = v / (1 + Foundation.exp(-v))
                }
            case .tanh:
                for i in 0..<values.count { values[i] = Foundation.tanh(values[i]) }
            case .sigmoid:
                for i in 0..<values.count { values[i] = 1 / (1 + Foundation.exp(-values[i])) }
            }
        }
    }
}
