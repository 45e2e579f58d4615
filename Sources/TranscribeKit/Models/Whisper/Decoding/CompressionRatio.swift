import CZlib

/// How repetitive a text is: its UTF-8 length over its zlib-compressed length (level 6, zlib's
/// default, as Python's `zlib.compress`). Whisper's reference decoder retries a window whose text
/// compresses better than 2.4, the mark of a decoder stuck in a loop. 0 for empty text.
public func compressionRatio(_ text: String) -> Double {
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty else { return 0 }
    var compressedLength = compressBound(uLong(bytes.count))
    var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
    let status = compress2(&compressed, &compressedLength, bytes, uLong(bytes.count), 6)
    guard status == Z_OK, compressedLength > 0 else { return 0 }
    return Double(bytes.count) / Double(compressedLength)
}
