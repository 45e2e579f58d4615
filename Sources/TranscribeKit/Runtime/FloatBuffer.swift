/// Contiguous Float32 values that are either borrowed from a memory-mapped file or owned.
///
/// Float32 weights are read in place from the mapped checkpoint; float16, bfloat16 and
/// weights transformed at load time (weight norm, reordered convolutions) are owned.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let baseAddress: UnsafePointer<Float>
    private let owner: AnyObject?
    private let allocation: UnsafeMutablePointer<Float>?

    /// Borrows `count` values at `pointer`; `owner` keeps the memory alive.
    init(borrowing pointer: UnsafePointer<Float>, count: Int, owner: AnyObject) {
        self.count = count
        self.baseAddress = pointer
        self.owner = owner
        self.allocation = nil
    }

    /// Allocates `count` values and lets `fill` write them.
    init(count: Int, fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        self.count = count
        self.baseAddress = UnsafePointer(pointer)
        self.owner = nil
        self.allocation = pointer
        do {
            try fill(UnsafeMutableBufferPointer(start: pointer, count: count))
        } catch {
            pointer.deallocate()
            throw error
        }
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count) { buffer in
            for i in 0..<values.count { buffer[i] = values[i] }
        }
    }

    deinit { allocation?.deallocate() }

    /// A copy of the values.
    public var values: [Float] {
        withExtendedLifetime(self) { Array(UnsafeBufferPointer(start: baseAddress, count: count)) }
    }

    public subscript(index: Int) -> Float { baseAddress[index] }
}

/// A named weight with its shape, as it stands in the checkpoint.
public struct Tensor: Sendable {
    public let shape: [Int]
    public let storage: FloatBuffer

    public init(shape: [Int], storage: FloatBuffer) {
        precondition(shape.reduce(1, *) == storage.count, "Tensor shape must match its storage")
        self.shape = shape
        self.storage = storage
    }

    public var count: Int { storage.count }
    public var pointer: UnsafePointer<Float> { storage.baseAddress }
}
