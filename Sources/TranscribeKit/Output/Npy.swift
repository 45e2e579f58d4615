import Foundation

/// NumPy's .npy format, version 1.0: magic, header length, a Python dict literal padded with spaces
/// to a multiple of 64 bytes, then the little-endian float32 values in C order.
public enum Npy {
    public static func encode(_ matrix: Matrix) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(matrix.rows), \(matrix.cols)), }"
        let unpadded = 6 + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        matrix.data.withUnsafeBufferPointer { data.append(contentsOf: UnsafeRawBufferPointer($0)) }
        return data
    }

    /// Reads a little-endian float32 C-order array, as numpy.save writes it: its shape and values.
    public static func decodeArray(_ data: Data) -> (shape: [Int], values: [Float])? {
        let bytes = [UInt8](data)
        guard bytes.count >= 12, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else { return nil }
        // Version 1.0 has a 2-byte header length, 2.0 and 3.0 a 4-byte one.
        let (headerLength, headerStart) =
            bytes[6] == 1
            ? (Int(bytes[8]) | Int(bytes[9]) << 8, 10)
            : (Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24, 12)
        guard headerStart + headerLength <= bytes.count,
            let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .ascii),
            header.contains("'<f4'"), header.contains("'fortran_order': False"),
            let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { return nil }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *)
        let start = headerStart + headerLength
        guard bytes.count - start == count * 4 else { return nil }
        let values = bytes[start...].withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        }
        return (shape, values)
    }

    /// A 2-D array as a matrix.
    public static func decode(_ data: Data) -> Matrix? {
        guard let (shape, values) = decodeArray(data), shape.count == 2 else { return nil }
        return Matrix(rows: shape[0], cols: shape[1], data: values)
    }

    /// A 1-D array.
    public static func decodeVector(_ data: Data) -> [Float]? {
        guard let (shape, values) = decodeArray(data), shape.count == 1 else { return nil }
        return values
    }
}
