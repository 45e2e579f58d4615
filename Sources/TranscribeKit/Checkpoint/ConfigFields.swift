/// The checks every family's config.json shares, each error naming the file and the field.
struct ConfigFields {
    let path: String

    func invalid(_ field: String, _ reason: String) -> ModelError {
        .invalidConfig(path: path, field: field, reason: reason)
    }

    func unsupported(_ field: String, _ reason: String) -> ModelError {
        .unsupportedConfig(path: path, field: field, reason: reason)
    }

    /// `value`, which must be positive; `fallback` when the field is absent.
    func positive(_ value: Int?, _ field: String, default fallback: Int) throws -> Int {
        guard let value else { return fallback }
        guard value > 0 else { throw invalid(field, "must be positive, found \(value)") }
        return value
    }

    /// The activation `name` names; `fallback` when the field is absent.
    func activation(_ name: String?, _ field: String, default fallback: Activation) throws -> Activation {
        guard let name else { return fallback }
        guard let activation = Activation(rawValue: name) else {
            throw unsupported(
                field,
                "activation \"\(name)\"; supported: \(Activation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return activation
    }

    /// A norm's epsilon, which must be a positive number; `fallback` when the field is absent.
    func epsilon(_ value: Double?, _ field: String, default fallback: Float) throws -> Float {
        guard let value else { return fallback }
        guard value > 0, value.isFinite else { throw invalid(field, "must be a positive number, found \(value)") }
        return Float(value)
    }
}
