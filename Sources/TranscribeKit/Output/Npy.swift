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

    /// Reads a 2-D little-endian float32 C-order array, as numpy.save writes it.
    public static func decode(_ data: Data) -> Matrix? {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else { return nil }
        let (headerLength, headerStart) = bytes[6] == 1
            ? (Int(bytes[8]) | Int(bytes[9]) << 8, 10)
            : (bytes.count >= 12 ? Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24 : -1, 12)
        guard headerLength >= 0, headerStart + headerLength <= bytes.count,
            let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .ascii),
            header.contains("'<f4'"), header.contains("'fortran_order': False"),
            let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { return nil }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard shape.count == 2 else { return nil }
        let start = headerStart + headerLength
        guard bytes.count - start == shape[0] * shape[1] * 4 else { return nil }
        let values = bytes[start...].withUnsafeBytes { raw in
            (0..<(shape[0] * shape[1])).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        }
        return Matrix(rows: shape[0], cols: shape[1], data: values)
    }
}
