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

    /// The activation of 8 values.
    @inline(__always)
    func callAsFunction(_ x: Lanes) -> Lanes {
        switch self {
        case .gelu:
            // Exact: x Φ(x) = 0.5 x (1 + erf(x / √2)).
            return 0.5 * x * (1 + FastMath.erf(x * 0.707_106_77))
        case .geluNew, .geluPytorchTanh, .geluFast:
            // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))), with 1 + tanh(u) = 2 - 2 / (e^2u + 1).
            let u = 0.797_884_56 * (x + 0.044_715 * x * x * x)
            return x * (1 - 1 / (FastMath.exp(2 * u) + 1))
        case .quickGelu:
            return x / (1 + FastMath.exp(-1.702 * x))
        case .relu:
            return x.replacing(with: 0, where: x .< 0)
        case .silu, .swish:
            return x / (1 + FastMath.exp(-x))
        case .tanh:
            return 1 - 2 / (FastMath.exp(2 * x) + 1)
        case .sigmoid:
            return 1 / (1 + FastMath.exp(-x))
        }
    }

    /// Applies the activation to every value in place.
    public func apply(_ x: inout Matrix) {
        let cols = x.cols
        x.data.withUnsafeMutableBufferPointer { values in
            Parallel.forEach(x.rows, grain: 64) { rows in
                let chunk = UnsafeMutableBufferPointer(
                    rebasing: values[(rows.lowerBound * cols)..<(rows.upperBound * cols)])
                FastMath.map(chunk) { self($0) }
            }
        }
    }
}
