import Foundation

/// A file path as the kernel takes it: bytes, not necessarily UTF-8. Names travel as bytes from
/// the command line and file lists to `open`, so a name that is not UTF-8 (`caf\xe9.wav`) is
/// still found, and two names that differ in bytes stay two names even where Swift strings
/// would call them equal (é precomposed and decomposed).
public struct BytePath: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: some Sequence<UInt8>) { self.bytes = Array(bytes) }
    public init(_ string: String) { bytes = Array(string.utf8) }

    /// The name as a string when it is UTF-8, else nil.
    public var string: String? { String(validating: bytes, as: UTF8.self) }

    /// The name for a line of text (a message, a txt or tsv row): printable as it is, with `\`
    /// written `\\`, tab, newline and carriage return as `\t`, `\n`, `\r`, other control
    /// characters and bytes that are not UTF-8 as `\xHH`. One name is then always one field of
    /// one line, and different names stay different.
    public var description: String { Self.escaped(bytes) }

    /// `bytes` escaped as `description` says.
    public static func escaped(_ bytes: [UInt8]) -> String {
        var out = ""
        var index = 0
        func hex(_ byte: UInt8) { out += "\\x" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2) }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\t"): out += "\\t"
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\r"): out += "\\r"
            case 0..<0x20, 0x7F: hex(byte)
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                // A whole UTF-8 sequence is kept as its character (unless it is a C1 control).
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                if length > 1, index + length <= bytes.count,
                    let character = String(validating: bytes[index..<(index + length)], as: UTF8.self),
                    let scalar = character.unicodeScalars.first, !(0x80...0x9F).contains(scalar.value)
                {
                    out += character
                    index += length
                    continue
                }
                hex(byte)
            }
            index += 1
        }
        return out
    }

    /// The last component: what follows the last `/` (trailing slashes ignored).
    public var lastComponent: BytePath {
        var end = bytes.count
        while end > 1 && bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        let start = bytes[..<end].lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
        return BytePath(bytes: bytes[start..<end])
    }

    /// The folder holding the last component: `.` for a bare name, `/` for one in the root.
    public var directory: BytePath {
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return BytePath(".") }
        return slash == 0 ? BytePath("/") : BytePath(bytes: bytes[..<slash])
    }

    /// The last component without its extension (from its last `.`, unless that starts it).
    public var stem: BytePath {
        let name = lastComponent.bytes
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > 0 else { return BytePath(bytes: name) }
        return BytePath(bytes: name[..<dot])
    }

    /// `self/component`.
    public func appending(_ component: BytePath) -> BytePath {
        BytePath(bytes: bytes + (bytes.last == UInt8(ascii: "/") ? [] : [UInt8(ascii: "/")]) + component.bytes)
    }

    /// Calls `body` with the path as a C string (the bytes and a NUL).
    public func withCString<T>(_ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}

/// The device and inode of a file: the same file under any name.
public struct FileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    /// The identity of the file at `path` (following links), or nil when there is none.
    public init?(path: BytePath) {
        var status = stat()
        guard path.withCString({ stat($0, &status) }) == 0 else { return nil }
        self.init(status)
    }

    /// The identity of the file open on `descriptor`, or nil.
    public init?(descriptor: Int32) {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        self.init(status)
    }

    init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}
