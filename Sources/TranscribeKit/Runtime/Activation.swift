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
        case .gelu: return Self.gelu(x)
        case .geluNew, .geluPytorchTanh, .geluFast: return Self.geluNew(x)
        case .quickGelu:
            return x / (1 + FastMath.exp(-1.702 * x))
        case .relu: return Self.relu(x)
        case .silu, .swish:
            return x / (1 + FastMath.exp(-x))
        case .tanh:
            return 1 - 2 / (FastMath.exp(2 * x) + 1)
        case .sigmoid:
            return 1 / (1 + FastMath.exp(-x))
        }
    }

    /// Exact: x Φ(x) = 0.5 x (1 + erf(x / √2)).
    @inline(__always)
    static func gelu(_ x: Lanes) -> Lanes {
        let half = 0.5 * x
        return half.addingProduct(half, FastMath.erf(x * 0.707_106_77))
    }

    /// 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))), with 1 + tanh(u) = 2 - 2 / (e^2u + 1).
    @inline(__always)
    static func geluNew(_ x: Lanes) -> Lanes {
        let u = 0.797_884_56 * (x + 0.044_715 * x * x * x)
        return x * (1 - 1 / (FastMath.exp(2 * u) + 1))
    }

    @inline(__always)
    static func relu(_ x: Lanes) -> Lanes { x.replacing(with: 0, where: x .< 0) }

    /// Applies the activation to every value in place.
    public func apply(_ x: inout Matrix) {
        let cols = x.cols
        x.data.withUnsafeMutableBufferPointer { values in
            Parallel.forEach(x.rows, grain: 64) { rows in
                apply(UnsafeMutableBufferPointer(rebasing: values[(rows.lowerBound * cols)..<(rows.upperBound * cols)]))
            }
        }
    }

    /// One loop per activation, so that the choice is made once, not for every 8 values.
    private func apply(_ values: UnsafeMutableBufferPointer<Float>) {
        switch self {
        case .gelu: FastMath.map(values, GELU())
        case .geluNew, .geluPytorchTanh, .geluFast: FastMath.map(values, GELUTanh())
        case .relu: FastMath.map(values, ReLU())
        case .quickGelu, .silu, .swish, .tanh, .sigmoid: FastMath.map(values, self)
        }
    }

    /// The common activations as functions of their own type, for loops specialised to one of them.
    struct GELU: LaneFunction {
        @inline(__always) func callAsFunction(_ x: Lanes) -> Lanes { Activation.gelu(x) }
    }

    struct GELUTanh: LaneFunction {
        @inline(__always) func callAsFunction(_ x: Lanes) -> Lanes { Activation.geluNew(x) }
    }

    struct ReLU: LaneFunction {
        @inline(__always) func callAsFunction(_ x: Lanes) -> Lanes { Activation.relu(x) }
    }
}

/// The rarer activations choose their formula for every 8 values.
extension Activation: LaneFunction {}
