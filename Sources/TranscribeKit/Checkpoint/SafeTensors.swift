import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the raw little-endian tensor bytes.
///
/// The header is checked as a whole before any tensor is read: offsets inside the data, sizes that
/// match dtype and shape, no two tensors overlapping.
public final class SafeTensorsFile: @unchecked Sendable {
    public struct Entry: Sendable {
        public let dtype: String
        public let shape: [Int]
        /// Byte range relative to the start of the data section.
        public let range: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    /// The whole file: mapped from disk, or owned bytes (`init(bytes:name:)`).
    private let contents: UnsafeRawBufferPointer
    private let release: @Sendable (UnsafeRawBufferPointer) -> Void
    private let dataStart: Int

    static let bytesPerElement: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8,
    ]

    public convenience init(path: String) throws {
        func fail(_ reason: String) -> ModelError { .malformedSafetensors(path: path, reason: reason) }

        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw errno == ENOENT ? ModelError.missingFile(path: path) : fail(String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw fail("not a regular file")
        }
        let size = Int(status.st_size)
        guard size >= 8 else { throw fail("file is \(size) bytes, shorter than the 8-byte header length") }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw fail("cannot map: \(String(cString: strerror(errno)))")
        }
        try self.init(name: path, contents: UnsafeRawBufferPointer(start: mapping, count: size)) { contents in
            munmap(UnsafeMutableRawPointer(mutating: contents.baseAddress), contents.count)
        }
    }

    /// A safetensors file held in memory (copied), named `name` in errors: for tests and fuzzing.
    convenience init(bytes: some Collection<UInt8>, name: String) throws {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        _ = copy.initializeMemory(as: UInt8.self, from: bytes)
        try self.init(name: name, contents: UnsafeRawBufferPointer(rebasing: copy[..<bytes.count])) { contents in
            UnsafeMutableRawPointer(mutating: contents.baseAddress)?.deallocate()
        }
    }

    /// Checks the header of `contents`, which `release` frees when this file is done with (or at
    /// once, if the header is refused).
    private init(
        name: String, contents: UnsafeRawBufferPointer, release: @escaping @Sendable (UnsafeRawBufferPointer) -> Void
    ) throws {
        func fail(_ reason: String) -> ModelError { .malformedSafetensors(path: name, reason: reason) }
        do {
            let size = contents.count
            guard size >= 8, let base = contents.baseAddress else {
                throw fail("file is \(size) bytes, shorter than the 8-byte header length")
            }
            let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
            guard headerLength <= UInt64(size - 8) else {
                throw fail("header length \(headerLength) is larger than the file (\(size) bytes)")
            }
            let dataStart = 8 + Int(headerLength)
            let headerBytes = Data(bytes: base + 8, count: Int(headerLength))
            self.entries = try Self.parseHeader(headerBytes, dataSize: size - dataStart, fail: fail)
            self.dataStart = dataStart
        } catch {
            release(contents)
            throw error
        }
        self.path = name
        self.contents = contents
        self.release = release
    }

    deinit { release(contents) }

    private static func parseHeader(
        _ bytes: Data, dataSize: Int, fail: (String) -> ModelError
    ) throws -> [String: Entry] {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: bytes)
        } catch {
            throw fail("header is not JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        var entries: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let fields = value as? [String: Any],
                let dtype = fields["dtype"] as? String,
                let shape = fields["shape"] as? [Int],
                let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("tensor \"\(name)\" lacks dtype, shape or data_offsets") }
            guard let width = bytesPerElement[dtype] else {
                throw fail("tensor \"\(name)\" has unknown dtype \(dtype)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor \"\(name)\" has a negative dimension") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail("tensor \"\(name)\" spans bytes \(begin)..<\(end), outside the \(dataSize) data bytes")
            }
            var elements = 1
            for dimension in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw fail("tensor \"\(name)\" shape \(shape) is too large") }
                elements = product
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: width)
            guard !overflow, bytes == end - begin else {
                throw fail(
                    "tensor \"\(name)\" has \(end - begin) bytes, its \(dtype) shape \(shape) needs \(elements) × \(width)"
                )
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: begin..<end)
        }
        let ordered = entries.sorted { $0.value.range.lowerBound < $1.value.range.lowerBound }
        for (previous, next) in zip(ordered, ordered.dropFirst())
        where next.value.range.lowerBound < previous.value.range.upperBound {
            throw fail("tensors \"\(previous.key)\" and \"\(next.key)\" overlap")
        }
        return entries
    }

    /// The tensor's values as Float32: borrowed from the mapping when stored as aligned F32,
    /// converted into an owned buffer otherwise.
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw ModelError.missingTensor(path: path, tensor: name) }
        // The header check keeps every range inside the data, so the base address is not nil.
        guard let base = contents.baseAddress else { throw ModelError.missingTensor(path: path, tensor: name) }
        let source = base + dataStart + entry.range.lowerBound
        let count = entry.shape.reduce(1, *)
        switch entry.dtype {
        case "F32" where Int(bitPattern: source) % MemoryLayout<Float>.alignment == 0:
            let storage = FloatBuffer(borrowing: source.assumingMemoryBound(to: Float.self), count: count, owner: self)
            return Tensor(shape: entry.shape, storage: storage)
        case "F32":
            return Tensor(
                shape: entry.shape,
                storage: FloatBuffer(count: count) { out in
                    for i in 0..<count { out[i] = source.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
                })
        case "F16":
            return Tensor(
                shape: entry.shape,
                storage: FloatBuffer(count: count) { out in
                    for i in 0..<count {
                        out[i] = Float(
                            Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                })
        case "BF16":
            return Tensor(
                shape: entry.shape,
                storage: FloatBuffer(count: count) { out in
                    for i in 0..<count {
                        let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                        out[i] = Float(bitPattern: bits)
                    }
                })
        case "F64":
            return Tensor(
                shape: entry.shape,
                storage: FloatBuffer(count: count) { out in
                    for i in 0..<count { out[i] = Float(source.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
                })
        default:
            throw ModelError.unsupportedDType(path: path, tensor: name, dtype: entry.dtype)
        }
    }
}

/// Hands out a checkpoint's tensors by key with the shape the model expects, and at the end
/// checks that every tensor in the file was used: loading is strict in both directions.
final class WeightStore {
    let file: SafeTensorsFile
    private var used: Set<String> = []

    init(file: SafeTensorsFile) { self.file = file }

    func contains(_ key: String) -> Bool { file.entries[key] != nil }

    func callAsFunction(_ key: String, shape: [Int]) throws -> Tensor {
        guard let entry = file.entries[key] else { throw ModelError.missingTensor(path: file.path, tensor: key) }
        guard entry.shape == shape else {
            throw ModelError.shapeMismatch(path: file.path, tensor: key, expected: shape, found: entry.shape)
        }
        used.insert(key)
        return try file.tensor(key)
    }

    /// Throws for the first tensor that no layer asked for, other than `ignored` ones.
    func checkAllUsed(ignoring ignored: Set<String>) throws {
        if let extra = file.entries.keys.sorted().first(where: { !used.contains($0) && !ignored.contains($0) }) {
            throw ModelError.unexpectedTensor(path: file.path, tensor: extra)
        }
    }
}
